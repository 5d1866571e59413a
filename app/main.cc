// rotor: the command line. Parses flags (CLI11) and hands over to app/.
// Usage errors exit 2 and name the bad flag; --help exits 0.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/check.h"
#include "app/commands.h"
#include "app/daemon.h"
#include "app/log.h"

namespace {

constexpr char kDefaultDataDir[] = "./rotor-data";

void AddDataDir(CLI::App* cmd, std::string* data_dir) {
  cmd->add_option("--data-dir", *data_dir, "Data directory (store, audit journal, delivered files)")
      ->default_val(kDefaultDataDir);
}

// KnownSubcommand reports whether `name` is a subcommand of `parent`; when it
// is not, it says so on stderr with the list of what is.
bool KnownSubcommand(CLI::App& parent, const std::string& name, const std::string& prefix) {
  std::string names;
  for (const CLI::App* sub : parent.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == name) return true;
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  std::fprintf(stderr, "rotor: unknown command \"%s%s\" (%scommands: %s)\n", prefix.c_str(), name.c_str(),
               prefix.c_str(), names.c_str());
  return false;
}

// SecondsValidator accepts a non-negative number of seconds and says so
// plainly otherwise (CLI11's range check prints the largest double).
CLI::Validator SecondsValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(v >= 0) || v > 1e9) {
          return "\"" + text + "\" is not a number of seconds (0 to 1000000000)";
        }
        return "";
      },
      "SECONDS");
}

}  // namespace

static int Main(int argc, char** argv) {
  using namespace rotor::app;
  // A closed stdout or stderr (`rotor run | tee` stopped by Ctrl-C) must not
  // kill the daemon mid-stop: writes then fail with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"rotor: machine-identity rotation engine", "rotor"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rotor 0.1.0");

  // rotor run
  DaemonOptions run_opt;
  bool no_progress = false, quiet = false;
  auto* run = app.add_subcommand("run", "Run the rotation daemon on a fleet file until stopped");
  run->add_option("--config", run_opt.config, "Fleet file (YAML)")->required();
  AddDataDir(run, &run_opt.data_dir);
  run->add_option("--duration", run_opt.duration_seconds, "Stop after this many seconds (default: until Ctrl-C)")
      ->check(SecondsValidator());
  run->add_option("--issuer-rate", run_opt.issuer_rate,
                  "Admit at most this many issuances per second per issuer, bursts of one second (default: unlimited)")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("--no-progress", no_progress, "No live progress line, even on a terminal");
  run->add_flag("--quiet", quiet, "Log warnings and errors only");

  // rotor status
  StatusOptions status_opt;
  auto* status = app.add_subcommand("status", "Show identities, phases, health and what is due");
  AddDataDir(status, &status_opt.data_dir);
  status->add_flag("--json", status_opt.json, "Machine-readable output (every record)");
  status->add_option("ids", status_opt.ids, "Identity ids to show in detail");

  // rotor rotate
  OperatorOptions rotate_opt;
  rotate_opt.verb = "rotate";
  auto* rotate = app.add_subcommand("rotate", "Rotate identities now");
  AddDataDir(rotate, &rotate_opt.data_dir);
  auto* rotate_ids = rotate->add_option("ids", rotate_opt.ids, "Identity ids");
  auto* rotate_sel = rotate->add_option("--selector", rotate_opt.selector, "Identities whose labels match key=value");
  auto* rotate_all = rotate->add_flag("--all", rotate_opt.all, "Every identity of the fleet");
  rotate_ids->excludes(rotate_sel)->excludes(rotate_all);
  rotate_sel->excludes(rotate_all);
  rotate->add_flag("--wait", rotate_opt.wait, "Wait until the rotations have ended and print the rate");
  rotate->add_option("--wait-timeout", rotate_opt.wait_timeout_s, "Seconds to wait at most with --wait")
      ->check(CLI::PositiveNumber);

  // rotor revoke
  OperatorOptions revoke_opt;
  revoke_opt.verb = "revoke";
  bool compromised = false;
  auto* revoke = app.add_subcommand("revoke", "Emergency rotation of a compromised credential");
  AddDataDir(revoke, &revoke_opt.data_dir);
  revoke->add_option("ids", revoke_opt.ids, "Identity ids")->required();
  // Checked after parsing rather than marked required, so that a misspelt
  // flag is reported as such instead of as a missing --compromised.
  revoke->add_flag("--compromised", compromised,
                   "Required: the current credential is compromised; replace it now and retire it at commit");

  // rotor audit verify
  std::string audit_dir = kDefaultDataDir;
  bool audit_json = false;
  auto* audit = app.add_subcommand("audit", "The tamper-evident audit trail");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "Check every hash chain of the journal against the store");
  AddDataDir(verify, &audit_dir);
  verify->add_flag("--json", audit_json, "Machine-readable result");

  // rotor check
  std::string check_dir = kDefaultDataDir;
  bool check_json = false;
  auto* check = app.add_subcommand("check", "Cross-check the store, the delivered files and the audit trail");
  AddDataDir(check, &check_dir);
  check->add_flag("--json", check_json, "Machine-readable result");

  // rotor apply / rotor validate
  std::string apply_dir = kDefaultDataDir;
  auto* apply = app.add_subcommand("apply", "Make the running daemon re-read its fleet file (as SIGHUP does)");
  AddDataDir(apply, &apply_dir);
  std::string validate_config;
  auto* validate = app.add_subcommand("validate", "Check a fleet file and show what it declares; changes nothing");
  validate->add_option("--config", validate_config, "Fleet file (YAML)")->required();

  // CLI11 reports an unknown command only as "a subcommand is required": name it.
  if (argc > 1 && argv[1][0] != '-' && !KnownSubcommand(app, argv[1], "")) return kExitUsage;
  if (argc > 2 && std::string(argv[1]) == "audit" && argv[2][0] != '-' && !KnownSubcommand(*audit, argv[2], "audit ")) {
    return kExitUsage;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "rotor: %s\nRun `rotor --help` or `rotor <command> --help` for usage.\n", e.what());
    return kExitUsage;
  }

  if (*run) {
    run_opt.progress = !no_progress;
    SetLogQuiet(quiet);
    return RunDaemon(run_opt);
  }
  if (*status) return RunStatus(status_opt);
  if (*rotate) {
    if (rotate_opt.ids.empty() && rotate_opt.selector.empty() && !rotate_opt.all) {
      std::fprintf(stderr, "rotor: rotate needs identity ids, --selector key=value or --all\n");
      return kExitUsage;
    }
    return RunOperator(rotate_opt);
  }
  if (*revoke) {
    if (!compromised) {
      std::fprintf(stderr, "rotor: revoke needs --compromised (the only kind of revocation so far)\n");
      return kExitUsage;
    }
    return RunOperator(revoke_opt);
  }
  if (*apply) return RunApply(apply_dir);
  if (*validate) return RunValidate(validate_config);
  if (*check) return RunCheck(check_dir, check_json);
  if (*verify) return RunAuditVerify(audit_dir, audit_json);
  return kExitUsage;
}

// main turns anything unexpected (out of memory, a library's exception) into
// a message and exit 1 instead of an abort.
int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rotor: unexpected error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "rotor: unexpected error\n");
  }
  return rotor::app::kExitFailure;
}
