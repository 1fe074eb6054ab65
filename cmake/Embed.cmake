# Embeds a file as a C byte array: cmake -DIN=file -DOUT=file.c -DNAME=sym -P Embed.cmake
# writes `const unsigned char sym[]` (NUL-terminated) and `const size_t sym_len`. Used for the
# live view's page (report/ft_live_page.html), so the page stays an ordinary HTML file.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR len "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")

file(WRITE "${OUT}" "/* Generated from ${IN} by cmake/Embed.cmake: do not edit. */\n"
                    "#include <stddef.h>\n"
                    "const unsigned char ${NAME}[] = {\n${body}0};\n"
                    "const size_t ${NAME}_len = ${len};\n")
