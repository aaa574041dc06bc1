# cmake -DIN=file -DOUT=file.gz -P gzip.cmake: gzip -9n (no name, no time stamp:
# the same bytes on every build, as Debian policy wants for man pages).
execute_process(COMMAND gzip -9nc ${IN} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "gzip ${IN} exited ${rc}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
