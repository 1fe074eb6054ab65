ft_test(test_common LIBS ft_common)
# Formatting is part of the suite: CI fails on code that clang-format would change.
find_program(CLANG_FORMAT clang-format)
if(CLANG_FORMAT)
  add_test(NAME format_check COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/format_check.sh ${CLANG_FORMAT})
  set_tests_properties(format_check PROPERTIES WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
endif()
ft_script_test(docs_config docs_config.sh TIMEOUT 30)
ft_test(test_experiment LIBS ft_common)
