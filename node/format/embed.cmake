# embed.cmake — write a C file defining `const char <NAME>[]`, the bytes of IN and a NUL.
# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n\t"
	bytes "${bytes}")
file(WRITE "${OUT}.tmp" "/* Generated from ${IN}; do not edit. */\nconst char ${NAME}[] = {\n\t${bytes}0x00};\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
