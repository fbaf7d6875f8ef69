# Read by cpack once per generator (CPACK_PROJECT_CONFIG_FILE). Without
# dpkg-shlibdeps, CPack's DEB generator only prints a note and writes a
# package whose Depends names none of the shared libraries the binary needs:
# dpkg -i would then accept it on a machine where it cannot start.
if(CPACK_GENERATOR STREQUAL "DEB")
  find_program(CHAINMAIL_DPKG_SHLIBDEPS dpkg-shlibdeps)
  if(NOT CHAINMAIL_DPKG_SHLIBDEPS)
    message(FATAL_ERROR "dpkg-shlibdeps is missing, so the package would depend on no "
                        "libraries: apt-get install dpkg-dev (.ci/deps.sh build installs it)")
  endif()
endif()
