# Fleet file loader: app/fleet_loader.{h,cc}, examples/quickstart.yaml and the
# malformed fixtures under tests/data/fleets/.
rotor_cc_test(fleet_loader_test SRCS unit/fleet_loader_test.cc DEPS rotor_fleet rotor_test_support LABELS unit)
