# Read by cpack itself (CPACK_PROJECT_CONFIG_FILE), after CPackConfig.cmake, for each generator.
# CPack.cmake always fills CPACK_PACKAGE_DESCRIPTION_SUMMARY from project(DESCRIPTION), and CPackDeb
# then puts it in front of every component's description: skiff-dev would get the server's synopsis
# and skiff a duplicated one. Each package's synopsis is already the first line of its own
# CPACK_DEBIAN_<COMPONENT>_DESCRIPTION (and CPACK_RPM_<COMPONENT>_PACKAGE_SUMMARY for the rpm).
unset(CPACK_PACKAGE_DESCRIPTION_SUMMARY)
