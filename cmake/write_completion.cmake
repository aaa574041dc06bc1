# cmake -DTOOL=path/to/binary -DOUT=file -P write_completion.cmake
# Runs `TOOL --bash-completion` (the script comes from the tool's own CLI11
# tables, lib/src/cli) and writes it to OUT; any failure fails the build.
execute_process(COMMAND ${TOOL} --bash-completion OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "${TOOL} --bash-completion exited ${rc}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
