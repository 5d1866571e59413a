# Fleet files (YAML) -> engine FleetSpec. Included from app/CMakeLists.txt.
rotor_cc_library(rotor_fleet SRCS fleet_loader.cc DEPS yaml-cpp PUBLIC_DEPS rotor_engine)
