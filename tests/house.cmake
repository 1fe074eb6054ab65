# The house's arrows: each folder includes only headers of the folders below it, the
# two processes share only the wire and what lies below, no include circles.
add_test(NAME layering COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/layering.py ${CMAKE_SOURCE_DIR})
