# SPDX-License-Identifier: Apache-2.0
# Where each file goes when installed, and the Debian and RPM packages made of them
# (`make package`: packaging/package.sh runs CPack on the release tree):
#   surveyor-agent      the agent, its plugins, unit, user and configuration
#   surveyor-collector  the collector, its unit, user and configuration
#   surveyor            the command line
# Dependencies are computed from the binaries (dpkg-shlibdeps, rpmbuild elfdeps).
include(GNUInstallDirs)
set(SURVEYOR_PKG ${PROJECT_SOURCE_DIR}/packaging)

install(TARGETS surveyor-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT agent)
install(TARGETS surveyor-plugin-redis LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/surveyor/plugins COMPONENT agent)
install(FILES ${SURVEYOR_PKG}/etc/agent.toml DESTINATION /etc/surveyor COMPONENT agent)
install(FILES ${SURVEYOR_PKG}/systemd/surveyor-agent.service DESTINATION /usr/lib/systemd/system COMPONENT agent)
install(FILES ${SURVEYOR_PKG}/systemd/surveyor-agent.sysusers DESTINATION /usr/lib/sysusers.d
        RENAME surveyor-agent.conf COMPONENT agent)

install(TARGETS surveyor-collector RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT collector)
install(FILES ${SURVEYOR_PKG}/etc/collector.toml DESTINATION /etc/surveyor COMPONENT collector)
install(FILES ${SURVEYOR_PKG}/systemd/surveyor-collector.service DESTINATION /usr/lib/systemd/system
        COMPONENT collector)
install(FILES ${SURVEYOR_PKG}/systemd/surveyor-collector.sysusers DESTINATION /usr/lib/sysusers.d
        RENAME surveyor-collector.conf COMPONENT collector)

install(TARGETS surveyor RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)

# The web console, built by packaging/build-ui.sh (package.sh passes
# -DSURVEYOR_UI_DIR=build/ui), where the collector's ui_dir defaults to.
set(SURVEYOR_UI_DIR "" CACHE PATH "the built web console to install with the collector (empty: none)")
if(SURVEYOR_UI_DIR)
  install(DIRECTORY ${SURVEYOR_UI_DIR}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/surveyor/ui COMPONENT collector)
endif()

# The changelog, compressed as Debian wants it (gzip -9n: no name or time).
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
                   COMMAND gzip -9nc ${SURVEYOR_PKG}/deb/changelog > ${CMAKE_BINARY_DIR}/changelog.gz
                   DEPENDS ${SURVEYOR_PKG}/deb/changelog VERBATIM)
add_custom_target(surveyor_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
foreach(c agent collector cli)
  if(c STREQUAL "cli")
    set(pkg surveyor)
  else()
    set(pkg surveyor-${c})
  endif()
  install(FILES ${SURVEYOR_PKG}/deb/copyright ${CMAKE_BINARY_DIR}/changelog.gz
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${c})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/docs/configuration.md ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/install.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/surveyor-collector COMPONENT collector)
install(FILES ${PROJECT_SOURCE_DIR}/docs/configuration.md ${PROJECT_SOURCE_DIR}/docs/install.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/surveyor-agent COMPONENT agent)

set(CPACK_GENERATOR DEB RPM)
set(CPACK_PACKAGE_NAME surveyor)
set(CPACK_PACKAGE_VENDOR "Surveyor")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Who answers for the packages: set it when building them for distribution.
set(SURVEYOR_PACKAGE_MAINTAINER "Surveyor maintainers <surveyor@example.org>" CACHE STRING
    "Maintainer field of the Debian packages")
set(CPACK_PACKAGE_CONTACT "${SURVEYOR_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "configuration and capacity monitoring for IT service providers")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent collector cli)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME surveyor-agent)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME surveyor-collector)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME surveyor)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS "systemd")
# Each package's summary and description, for both formats.
set(SURVEYOR_AGENT_SUMMARY "Surveyor agent: reports this host's inventory, capacity and availability")
set(SURVEYOR_AGENT_TEXT
    "Lightweight agent that reports hardware and software inventory, capacity
metrics and check results to a Surveyor collector. Enroll it with
'surveyor-agent enroll --collector URL --token-file FILE'.")
set(SURVEYOR_COLLECTOR_SUMMARY "Surveyor collector: CMDB, capacity trends, availability and SLAs")
set(SURVEYOR_COLLECTOR_TEXT
    "Central collector that keeps the configuration-management database, stores
capacity trends, forecasts exhaustion and computes availability against
SLAs, on an embedded SQLite store or a shared Redis.")
set(SURVEYOR_CLI_SUMMARY "Surveyor command line: CIs, trends, capacity and incidents")
set(SURVEYOR_CLI_TEXT "The 'surveyor' command queries and changes a Surveyor collector through
its API.")
foreach(c AGENT COLLECTOR CLI)
  string(REPLACE "\n" "\n " body "${SURVEYOR_${c}_TEXT}")
  set(CPACK_COMPONENT_${c}_DESCRIPTION "${SURVEYOR_${c}_SUMMARY}\n ${body}")
  set(CPACK_RPM_${c}_PACKAGE_SUMMARY "${SURVEYOR_${c}_SUMMARY}")
  set(CPACK_RPM_${c}_PACKAGE_DESCRIPTION "${SURVEYOR_${c}_TEXT}")
endforeach()
foreach(c AGENT COLLECTOR)
  string(TOLOWER ${c} dir)
  set(CPACK_DEBIAN_${c}_PACKAGE_CONTROL_EXTRA
      "${SURVEYOR_PKG}/deb/${dir}/conffiles;${SURVEYOR_PKG}/deb/${dir}/postinst;${SURVEYOR_PKG}/deb/${dir}/prerm;${SURVEYOR_PKG}/deb/${dir}/postrm")
  set(CPACK_DEBIAN_${c}_PACKAGE_CONTROL_STRICT_PERMISSION ON)
endforeach()

# RPM packages (`make package` too): the same files, scriptlets of their own
# (packaging/rpm/), dependencies from the binaries (rpmbuild's elfdeps).
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Apache-2.0")
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
set(CPACK_RPM_PACKAGE_URL "https://example.org/surveyor")
set(CPACK_RPM_PACKAGE_AUTOREQPROV ON)
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
set(CPACK_RPM_CHANGELOG_FILE ${SURVEYOR_PKG}/rpm/changelog)
set(CPACK_RPM_AGENT_PACKAGE_NAME surveyor-agent)
set(CPACK_RPM_COLLECTOR_PACKAGE_NAME surveyor-collector)
set(CPACK_RPM_CLI_PACKAGE_NAME surveyor)
set(CPACK_RPM_AGENT_USER_FILELIST "%config(noreplace) /etc/surveyor/agent.toml")
set(CPACK_RPM_COLLECTOR_USER_FILELIST "%config(noreplace) /etc/surveyor/collector.toml")
# Directories the system owns, not these packages.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/lib/systemd /usr/lib/systemd/system /usr/lib/sysusers.d /usr/share/doc
    ${CMAKE_INSTALL_FULL_LIBDIR})
foreach(c AGENT COLLECTOR)
  string(TOLOWER ${c} dir)
  set(CPACK_RPM_${c}_PACKAGE_REQUIRES_POST systemd)  # systemd-sysusers
  set(CPACK_RPM_${c}_POST_INSTALL_SCRIPT_FILE ${SURVEYOR_PKG}/rpm/${dir}/post)
  set(CPACK_RPM_${c}_PRE_UNINSTALL_SCRIPT_FILE ${SURVEYOR_PKG}/rpm/${dir}/preun)
  set(CPACK_RPM_${c}_POST_UNINSTALL_SCRIPT_FILE ${SURVEYOR_PKG}/rpm/${dir}/postun)
endforeach()
include(CPack)
