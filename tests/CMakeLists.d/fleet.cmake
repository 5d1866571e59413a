# Fleet file loader: app/fleet_loader.{h,cc}, examples/quickstart.yaml and the
# malformed fixtures under tests/data/fleets/.
rotor_cc_test(fleet_loader_test SRCS unit/fleet_loader_test.cc DEPS rotor_fleet LABELS unit)
# Lets the binary find its fixtures when run by hand, outside ctest.
target_compile_definitions(fleet_loader_test PRIVATE ROTOR_DEFAULT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
