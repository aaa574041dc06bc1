# What `cmake --install` puts where (GNUInstallDirs), and the Debian package CPack
# builds from the same install tree (scripts/package). The binaries and the
# completions are installed by apps/CMakeLists.txt.
set(SOCKLAB_MAINTAINER "socklab maintainers <socklab@example.org>")

# Man pages and the Debian changelog compressed with gzip -9n, as Debian policy wants.
set(socklab_gz "")
function(socklab_gzip in out)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${in} -DOUT=${out} -P ${PROJECT_SOURCE_DIR}/cmake/gzip.cmake
    DEPENDS ${in} ${PROJECT_SOURCE_DIR}/cmake/gzip.cmake VERBATIM)
  set(socklab_gz ${socklab_gz} ${out} PARENT_SCOPE)
endfunction()

file(GLOB socklab_man_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/man/*.[1-8])
foreach(page ${socklab_man_pages})
  get_filename_component(page_name ${page} NAME)
  string(REGEX REPLACE ".*\\.([1-8])$" "\\1" section ${page_name})
  set(gz ${PROJECT_BINARY_DIR}/man/${page_name}.gz)
  socklab_gzip(${page} ${gz})
  install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

string(TIMESTAMP SOCKLAB_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${PROJECT_SOURCE_DIR}/packaging/changelog.in ${PROJECT_BINARY_DIR}/doc/changelog @ONLY)
socklab_gzip(${PROJECT_BINARY_DIR}/doc/changelog ${PROJECT_BINARY_DIR}/doc/changelog.gz)
add_custom_target(socklab_gzipped ALL DEPENDS ${socklab_gz})

install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
              ${PROJECT_SOURCE_DIR}/packaging/copyright ${PROJECT_BINARY_DIR}/doc/changelog.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The Debian package: `cpack -G DEB` in a build of lib and apps (scripts/package).
set(CPACK_PACKAGE_NAME socklab)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SOCKLAB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SOCKLAB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "socket lab and ss/netstat/nc replacement")
# CPack writes the summary as the synopsis line; this is the extended description.
set(CPACK_PACKAGE_DESCRIPTION "Four tools: sockcat (nc-style connect and listen with explicit control of
how each connection closes), sockls (ss/netstat-style socket lister over
sock_diag, with state filters, owners and JSON), sockwatch (a live table
and event stream of TCP state changes) and socklab (every TCP state on
demand on loopback, explained, and a host doctor).")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_GENERATOR DEB)
# Directories owned by base-files are not the package's: no /usr or /usr/share entries.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
