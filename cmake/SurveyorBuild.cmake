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

# The agent runs on every managed host, where its memory is the cost: its code
# is optimised for size (the agent's resident set is mostly mapped code; -Os
# halves the agent's text), in the build types that optimise (Release,
# RelWithDebInfo). The collector's code stays at the build type's speed
# optimisation: it is CPU a report. The shared modules both link are built
# twice there, surveyor_shared_X for speed and surveyor_shared_X_small for
# size, which the agent's modules link instead (each dependency
# surveyor::shared_X becomes surveyor::shared_X_small), unless one binary
# would link both flavours (the agent's tests link a collector server, so
# builds with tests or fuzz targets keep one flavour, for size, as before).
# Elsewhere surveyor::shared_X_small names surveyor_shared_X itself.
function(surveyor_optimised_build out)
  set(${out} OFF PARENT_SCOPE)
  if(CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo)$")
    set(${out} ON PARENT_SCOPE)
  endif()
endfunction()
function(surveyor_two_flavours out)
  surveyor_optimised_build(optimised)
  set(${out} OFF PARENT_SCOPE)
  if(optimised AND NOT SURVEYOR_BUILD_TESTS AND NOT SURVEYOR_FUZZ)
    set(${out} ON PARENT_SCOPE)
  endif()
endfunction()

# The dependencies in ${ARGN} with each shared module that has a size
# flavour replaced by it.
function(surveyor_small_deps out)
  set(deps)
  foreach(dep IN LISTS ARGN)
    if(dep MATCHES "^surveyor::shared_(.+)$" AND NOT TARGET ${dep})
      message(FATAL_ERROR "${dep} is used before it is defined: define it first (its size flavour is looked up here)")
    endif()
    if(dep MATCHES "^surveyor::shared_(.+)$" AND TARGET ${dep}_small)
      list(APPEND deps ${dep}_small)
    else()
      list(APPEND deps ${dep})
    endif()
  endforeach()
  set(${out} ${deps} PARENT_SCOPE)
endfunction()

# surveyor_module(<area> <module> [SPEED] SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# One static library per module: surveyor_<area>_<module>, alias
# surveyor::<area>_<module> (and, for a shared module, its size flavour
# surveyor::shared_<module>_small: above). SPEED: a shared module the agent
# does not link (the series codec, say): one flavour, for speed, and no
# _small name at all. The package build (packaging/package.sh, tested by
# packaging/test-install.sh in `make test`) is where the two flavours and
# the check below are built and run.
function(surveyor_module area module)
  cmake_parse_arguments(M "SPEED" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(name surveyor_${area}_${module})
  surveyor_optimised_build(optimised)
  surveyor_two_flavours(two)
  set(public ${M_PUBLIC_DEPS})
  set(private ${M_PRIVATE_DEPS})
  if(area STREQUAL "agent")
    surveyor_small_deps(public ${public})
    surveyor_small_deps(private ${private})
  endif()
  add_library(${name} STATIC ${M_SOURCES})
  add_library(surveyor::${area}_${module} ALIAS ${name})
  surveyor_module_headers(${name} ${area} ${module})
  target_link_libraries(${name} PUBLIC ${public} PRIVATE surveyor_build_flags ${private})
  if(optimised AND (area STREQUAL "agent" OR (area STREQUAL "shared" AND NOT M_SPEED AND NOT two)))
    target_compile_options(${name} PRIVATE -Os)
  endif()
  if(area STREQUAL "shared" AND NOT M_SPEED)
    if(two)
      surveyor_small_deps(public ${public})
      surveyor_small_deps(private ${private})
      add_library(${name}_small STATIC EXCLUDE_FROM_ALL ${M_SOURCES})
      add_library(surveyor::${area}_${module}_small ALIAS ${name}_small)
      surveyor_module_headers(${name}_small ${area} ${module})
      target_link_libraries(${name}_small PUBLIC ${public} PRIVATE surveyor_build_flags ${private})
      target_compile_options(${name}_small PRIVATE -Os)
    else()
      add_library(surveyor::${area}_${module}_small ALIAS ${name})
    endif()
  endif()
endfunction()

# The agent's executable (and its tools), optimised for size like its modules.
function(surveyor_agent_size target area)
  surveyor_optimised_build(optimised)
  if(optimised AND area MATCHES "^(agent|shared)$")
    target_compile_options(${target} PRIVATE -Os)
  endif()
endfunction()

# No executable may link both flavours of a shared module: the linker would
# take each symbol from whichever archive it reads first. Checked at the end
# of the configuration, over every executable's link closure.
function(surveyor_link_closure target out)
  set(seen ${${out}})
  set(queue ${target})
  list(LENGTH queue left)
  while(left GREATER 0)
    list(POP_FRONT queue t)
    list(LENGTH queue left)
    if(NOT TARGET ${t})
      continue()
    endif()
    get_target_property(real ${t} ALIASED_TARGET)
    if(real)
      set(t ${real})
    endif()
    if(t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    foreach(property LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
      get_target_property(libs ${t} ${property})
      if(NOT libs)  # not set: libs-NOTFOUND
        continue()
      endif()
      foreach(lib IN LISTS libs)
        string(REGEX REPLACE "^\\$<LINK_ONLY:(.+)>$" "\\1" lib "${lib}")
        list(APPEND queue ${lib})
      endforeach()
      list(LENGTH queue left)
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

function(surveyor_check_flavours dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(EXECUTABLE|MODULE_LIBRARY|SHARED_LIBRARY)$")
      continue()
    endif()
    set(closure)
    surveyor_link_closure(${t} closure)
    foreach(lib IN LISTS closure)
      if(lib MATCHES "^(surveyor_shared_.+)_small$" AND "${CMAKE_MATCH_1}" IN_LIST closure)
        message(FATAL_ERROR "${t} links both ${CMAKE_MATCH_1} and ${lib}: link the size flavour (surveyor::shared_X_small) "
                            "where the agent's modules are linked too")
      endif()
    endforeach()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    surveyor_check_flavours(${sub})
  endforeach()
endfunction()
