# Writes OUTPUT (a header with TANDEM_VERSION) from `git describe` of SOURCE_DIR, or FALLBACK
# outside a git checkout (a release tarball). Run at every build (tandem_build_info's
# dependency), and the header rewritten only when the text changes, so a commit is reflected
# without reconfiguring and nothing rebuilds when nothing changed.
execute_process(COMMAND git describe --always --dirty --tags
                WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE version
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR version STREQUAL "")
  set(version "${FALLBACK}")
else()
  set(version "${FALLBACK}+git.${version}")
endif()
set(text "#define TANDEM_VERSION \"${version}\"\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE "${OUTPUT}" "${text}")
endif()
