# SPDX-License-Identifier: Apache-2.0
# Compiler settings shared by every Surveyor target.

find_program(SURVEYOR_CCACHE ccache)
if(SURVEYOR_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${SURVEYOR_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${SURVEYOR_CCACHE})
endif()

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

# Every project target links this to get the warning set and sanitizer flags.
add_library(surveyor_build_flags INTERFACE)
target_compile_options(surveyor_build_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wimplicit-fallthrough -Wcast-qual -Wformat=2 -Wno-missing-field-initializers)
# GCC 12 at -O2/-O3 flags std::string concatenation with bogus -Wrestrict
# warnings (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(surveyor_build_flags INTERFACE -Wno-restrict)
endif()
# Every function and object in its own section, so the linker can drop what
# nothing calls; and no shared library that nothing uses.
target_compile_options(surveyor_build_flags INTERFACE -ffunction-sections -fdata-sections)
target_link_options(surveyor_build_flags INTERFACE -Wl,--gc-sections -Wl,--as-needed)

if(SURVEYOR_WERROR)
  target_compile_options(surveyor_build_flags INTERFACE -Werror)
endif()

if(SURVEYOR_FUZZ)
  # Coverage feedback for every project TU; the fuzz binaries add libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(SURVEYOR_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  # clang 14's -fsanitize=function cannot assemble C++20 coroutines
  # ("Cannot represent a difference across sections").
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    list(APPEND _san -fno-sanitize=function)
  endif()
  add_compile_options(${_san})
  add_link_options(${_san})
endif()

# A module publishes its own headers only: its include root, in the build
# tree, holds just a link to include/surveyor/[AREA/]MODULE, so a file can
# include another module's header only if its module depends on that module
# (directly or through a PUBLIC dependency). Shared modules' headers sit
# at surveyor/MODULE, the others' at surveyor/AREA/MODULE.
function(surveyor_module_headers target area module)
  if(area STREQUAL "shared")
    set(rel surveyor/${module})
  else()
    set(rel surveyor/${area}/${module})
  endif()
  set(root ${CMAKE_BINARY_DIR}/module-include/${target})
  get_filename_component(parent ${root}/${rel} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include/${rel} AND NOT EXISTS ${root}/${rel})
    file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR}/include/${rel} ${root}/${rel} SYMBOLIC)
  endif()
  target_include_directories(${target} PUBLIC ${root})
endfunction()

# surveyor_module(<area> <module> [SPEED] SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# One static library per module: surveyor_<area>_<module>, alias surveyor::<area>_<module>.
# SPEED: a module the agent does not link (the series codec, say) keeps the
# build type's speed optimisation even in shared/.
function(surveyor_module area module)
  cmake_parse_arguments(M "SPEED" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(name surveyor_${area}_${module})
  add_library(${name} STATIC ${M_SOURCES})
  add_library(surveyor::${area}_${module} ALIAS ${name})
  surveyor_module_headers(${name} ${area} ${module})
  target_link_libraries(${name} PUBLIC ${M_PUBLIC_DEPS} PRIVATE surveyor_build_flags ${M_PRIVATE_DEPS})
  if(NOT M_SPEED)
    surveyor_agent_size(${name} ${area})
  endif()
endfunction()

# The agent runs on every managed host, where its memory is the cost: its code
# and the shared library's are optimised for size (the agent's resident set
# is mostly mapped code; -Os halves the agent's text). The collector's own
# modules stay at the build type's speed optimisation.
function(surveyor_agent_size target area)
  if(area MATCHES "^(agent|shared)$" AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo)$")
    target_compile_options(${target} PRIVATE -Os)
  endif()
endfunction()
