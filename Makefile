# SPDX-License-Identifier: Apache-2.0
# A thin front to the scripts in packaging/ and to CMake.
.PHONY: run test build ui package test-install deps fuzz bench clean

run:            ## build, start collector + agent for this host; Ctrl-C stops
	packaging/dev-run.sh

test:           ## sanitizer build, throwaway redis-server, all tests, then the install test
	packaging/test.sh

build:          ## release binaries in build/release/bin
	packaging/install-deps.sh build
	cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSURVEYOR_BUILD_TESTS=OFF
	cmake --build build/release

ui:             ## the web console (web/, npm ci + vite) into build/ui/
	packaging/build-ui.sh

package:        ## Debian and RPM packages (agent, collector, command line) in build/packages/
	packaging/package.sh

test-install:   ## install, upgrade, remove and purge the packages in a throwaway root (root; part of make test)
	packaging/test-install.sh

deps:           ## install every Debian package the project uses
	packaging/install-deps.sh

fuzz:           ## libFuzzer targets with clang in build/fuzz (see docs/operations.md)
	packaging/install-deps.sh build test fuzz
	CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSURVEYOR_FUZZ=ON -DSURVEYOR_SANITIZE=ON -DSURVEYOR_BUILD_TESTS=OFF
	cmake --build build/fuzz --target fuzz_wire fuzz_config fuzz_proc fuzz_codec fuzz_service fuzz_cmdb_api fuzz_auth fuzz_x509_names fuzz_batch fuzz_routing fuzz_evidence

clean:
	rm -rf build
