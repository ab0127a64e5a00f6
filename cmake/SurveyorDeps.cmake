# SPDX-License-Identifier: Apache-2.0
# Third-party packages, all from Debian 12 (see packaging/install-deps.sh).

find_package(Threads REQUIRED)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json url)
find_package(cereal 1.3.2 CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(ZLIB REQUIRED)
# OpenSSL 3 (libssl-dev): the collector's HTTPS, through Asio's ssl stream,
# and the quick-start certificates of `surveyor-collector certs init`.
find_package(OpenSSL 3 REQUIRED)
# mbed TLS 2.28 (libmbedtls-dev): the HTTP client's TLS (agent, command line,
# webhooks); it keeps the agent small. Debian ships no CMake or pkg-config
# file for it.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/ssl.h REQUIRED)
find_library(MBEDTLS_LIBRARY mbedtls REQUIRED)
find_library(MBEDX509_LIBRARY mbedx509 REQUIRED)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto REQUIRED)
add_library(MbedTLS::mbedtls INTERFACE IMPORTED)
target_include_directories(MbedTLS::mbedtls SYSTEM INTERFACE ${MBEDTLS_INCLUDE_DIR})
target_link_libraries(MbedTLS::mbedtls INTERFACE ${MBEDTLS_LIBRARY} ${MBEDX509_LIBRARY} ${MBEDCRYPTO_LIBRARY})
find_package(spdlog 1.10 CONFIG REQUIRED)
find_package(tomlplusplus 3.3 CONFIG REQUIRED)
find_package(CLI11 2.1 CONFIG REQUIRED)
# Howard Hinnant's date/tz (libhowardhinnant-date-dev): time zones from the OS
# tzdb in /usr/share/zoneinfo, which libstdc++ 12's <chrono> lacks.
find_package(date 3.0 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc>=2.9)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis>=0.14)
pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle>=3.8)
# RE2 (libre2-dev): the process check's patterns, matched in linear time on
# command lines any local user controls.
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
# jemalloc (libjemalloc-dev): the collector's allocator. Its threads hand
# requests, reports and store replies to one another; under callgrind a
# report took 1.14 M instructions with glibc's malloc and 0.82 M with
# jemalloc (docs/benchmarks.md).
# Not with the sanitizers, which bring their own allocator.
if(SURVEYOR_JEMALLOC AND NOT SURVEYOR_SANITIZE AND NOT SURVEYOR_FUZZ)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc>=5.2)
endif()

if(SURVEYOR_BUILD_TESTS OR SURVEYOR_FUZZ)
  find_package(GTest 1.12 CONFIG REQUIRED)
endif()
if(SURVEYOR_BUILD_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()
