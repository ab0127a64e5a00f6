# SPDX-License-Identifier: Apache-2.0
# Builds the two boundary probes: the control must compile, the probe must
# fail, and for the reason expected (the API's header is not on its path).
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target surveyor_boundary_control
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the control (a store file including a store header) does not build:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target surveyor_boundary_probe
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "a store file including the API's header compiled: module boundaries are not enforced")
endif()
if(NOT out MATCHES "surveyor/collector/api/api.hpp: No such file")
  message(FATAL_ERROR "the probe failed, but not for want of the API's header:\n${out}")
endif()
message(STATUS "the store module cannot include the API's header")
