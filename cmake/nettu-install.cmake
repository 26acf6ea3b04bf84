# Install rules for files that name the install prefix: the pkg-config file plugin authors
# build against (lib/pkgconfig/nettu-plugin.pc) and the default configuration
# (etc/nettu/nettu.ini). Both are generated while `cmake --install` runs, not when CMake
# configures, so `cmake --install build --prefix P` (and DESTDIR=...) give files naming P.
# Included at the end of the root CMakeLists.txt, once every plugin target exists.

# The plugin ABI version, read from the header plugins compile against.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/nettu/plugin.h nettu_abi_lines
  REGEX "^#define NT_ABI_(MAJOR|MINOR) ")
foreach(line ${nettu_abi_lines})
  if(line MATCHES "^#define NT_ABI_(MAJOR|MINOR) +([0-9]+)")
    set(NETTU_ABI_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  endif()
endforeach()
if(NOT DEFINED NETTU_ABI_MAJOR OR NOT DEFINED NETTU_ABI_MINOR)
  message(FATAL_ERROR "cannot read NT_ABI_MAJOR and NT_ABI_MINOR from include/nettu/plugin.h")
endif()

# The installed config loads the standard plugins this build makes, in their load order.
set(nettu_load)
foreach(p store_sqlite auth_nettu policy account user calendar events)
  if(TARGET ${p})
    list(APPEND nettu_load ${p})
  endif()
endforeach()
list(JOIN nettu_load ", " NETTU_DEFAULT_LOAD)

# The installed fake host (tests/support) links what it was built with: the sanitizers too.
set(NETTU_FAKEHOST_LINK_FLAGS "")
if(NETTU_SANITIZE)
  set(NETTU_FAKEHOST_LINK_FLAGS "-fsanitize=address,undefined")
elseif(NETTU_TSAN)
  set(NETTU_FAKEHOST_LINK_FLAGS "-fsanitize=thread")
endif()

configure_file(${CMAKE_CURRENT_LIST_DIR}/nettu-install-files.cmake.in
  ${CMAKE_BINARY_DIR}/nettu-install-files.cmake @ONLY)
install(SCRIPT ${CMAKE_BINARY_DIR}/nettu-install-files.cmake)
