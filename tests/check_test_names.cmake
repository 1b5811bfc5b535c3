# CTest registers each doctest case under its name (doctest_discover_tests), and a `;` in a
# name splits it into two CTest entries that each select no test case and pass without
# running anything. This check fails on such a name. Usage:
#   cmake "-DTEST_BINARIES=a|b" -P check_test_names.cmake
string(REPLACE "|" ";" binaries "${TEST_BINARIES}")
foreach(bin IN LISTS binaries)
  execute_process(COMMAND "${bin}" --list-test-cases OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${bin} --list-test-cases failed (${rc})")
  endif()
  # a `;` in the output would become a list separator here: look for it in the raw text
  string(FIND "${listing}" ";" at)
  if(NOT at EQUAL -1)
    string(REPLACE ";" "<;>" shown "${listing}")
    message(FATAL_ERROR "a test case name in ${bin} contains `;` (shown as <;>); CTest would run "
                        "nothing for it. Use a comma instead.\n${shown}")
  endif()
endforeach()
message(STATUS "test case names are safe for CTest")
