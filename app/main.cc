// rotor: the command line. Parses flags (CLI11) and hands over to app/.
// Usage errors exit 2 and name the bad flag; --help exits 0.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/audit_kafka.h"
#include "app/check.h"
#include "app/commands.h"
#include "app/daemon.h"
#include "app/fleet_loader.h"
#include "app/inventory.h"
#include "app/kek.h"
#include "app/log.h"

namespace {

constexpr char kDefaultDataDir[] = "./rotor-data";

void AddDataDir(CLI::App* cmd, std::string* data_dir) {
  cmd->add_option("--data-dir", *data_dir, "Data directory (store, audit journal, delivered files)")
      ->default_val(kDefaultDataDir);
}

// SubcommandNames lists the subcommands of `parent`, comma-separated.
std::string SubcommandNames(const CLI::App& parent) {
  std::string names;
  for (const CLI::App* sub : parent.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

// KnownSubcommand reports whether `name` is a subcommand of `parent`; when it
// is not, it says so on stderr with the list of what is.
bool KnownSubcommand(CLI::App& parent, const std::string& name, const std::string& prefix) {
  for (const CLI::App* sub : parent.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == name) return true;
  }
  std::fprintf(stderr, "rotor: unknown command \"%s%s\" (%scommands: %s)\n", prefix.c_str(), name.c_str(),
               prefix.c_str(), SubcommandNames(parent).c_str());
  return false;
}

// UnknownFlag returns the first long flag in argv that `sub` does not know,
// with the closest known flag when one is within two edits; empty when every
// flag is known. CLI11 checks required options before unknown ones, so
// `rotor run --confg F` would otherwise be reported as a missing --config.
std::string UnknownFlag(const CLI::App& sub, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (sub.get_option_no_throw(name) != nullptr || name == "--help") continue;
    std::vector<std::string> known;
    for (const CLI::Option* opt : sub.get_options()) {
      for (const std::string& long_name : opt->get_lnames()) known.push_back("--" + long_name);
    }
    const auto meant = rotor::Closest(name, known);
    return "unknown option " + name + (meant ? " (did you mean " + *meant + "?)" : "");
  }
  return "";
}

// NumberValidator accepts a non-negative number up to 1e9 and says so
// plainly otherwise (CLI11's range check prints the largest double).
CLI::Validator NumberValidator(const std::string& what, const std::string& name) {
  return CLI::Validator(
      [what](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(v >= 0) || v > 1e9) {
          return "\"" + text + "\" is not " + what + " (0 to 1000000000)";
        }
        return "";
      },
      name);
}

CLI::Validator SecondsValidator() {
  return NumberValidator("a number of seconds", "SECONDS");
}

// AddDueRule adds the flags that say when a certificate counts as due.
void AddDueRule(CLI::App* cmd, rotor::app::DueRule* rule) {
  cmd->add_option("--renew-fraction", rule->renew_fraction,
                  "A certificate is due from this fraction of its lifetime (default 0.667)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--renew-before", rule->renew_before,
                  "A certificate is due this long before it expires (e.g. 30d); overrides --renew-fraction");
  cmd->add_option("--config", rule->config, "Fleet file holding the policy named by --policy");
  cmd->add_option("--policy", rule->policy,
                  "A certificate is due when this fleet policy would renew it (needs --config)");
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
      ->check(NumberValidator("a rate per second", "RATE"));
  run->add_flag("--no-progress", no_progress, "No live progress line, even on a terminal");
  run->add_flag("--quiet", quiet, "Log warnings and errors only");
  auto* kafka = run->add_option("--kafka", run_opt.kafka_bootstrap,
                                "Also ship the audit trail to Kafka at these bootstrap servers (runs rotor-relay)");
  // The other --kafka-* flags do nothing without --kafka: a usage error, not silence.
  run->add_option("--kafka-topic", run_opt.kafka_topic, "Kafka audit topic")->default_val("rotor.audit")->needs(kafka);
  run->add_option("--kafka-setting", run_opt.kafka_settings,
                  "librdkafka property name=value for the relay's producer (repeatable; acks=all and "
                  "idempotence cannot be weakened)")
      ->needs(kafka);
  run->add_option("--kafka-backlog-limit", run_opt.kafka_backlog_limit,
                  "Outbox entries Kafka may lag behind before the backlog policy applies")
      ->default_val(1000000)
      ->check(CLI::PositiveNumber)
      ->needs(kafka);
  run->add_option("--kafka-backlog-policy", run_opt.kafka_backlog_policy,
                  "Past the limit: alert (keep rotating, warn) or pause-routine (hold scheduled renewals; "
                  "operator and emergency rotations still run)")
      ->default_val("alert")
      ->check(CLI::IsMember({"alert", "pause-routine"}))
      ->needs(kafka);

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
  KafkaAuditOptions kafka_verify;
  verify->add_option("--kafka", kafka_verify.bootstrap,
                     "Verify the Kafka audit topic at these bootstrap servers instead of the journal");
  verify->add_option("--topic,--kafka-topic", kafka_verify.topic, "Kafka audit topic (with --kafka)")
      ->default_val("rotor.audit");
  verify->add_option("--kafka-setting", kafka_verify.settings, "librdkafka property name=value (repeatable)");

  // rotor audit tail
  KafkaAuditOptions tail_opt;
  bool no_follow = false;
  auto* tail = audit->add_subcommand("tail", "Print the audit events arriving in Kafka, one JSON line each");
  tail->add_option("--kafka", tail_opt.bootstrap, "Kafka bootstrap servers (host:port,...)")->required();
  tail->add_option("--topic,--kafka-topic", tail_opt.topic, "Kafka audit topic")->default_val("rotor.audit");
  tail->add_option("--subject", tail_opt.subject, "Only this identity's events");
  tail->add_flag("--from-beginning", tail_opt.from_beginning, "Start at the oldest event the topic keeps");
  tail->add_flag("--no-follow", no_follow, "Stop at the end of the topic instead of waiting for more");
  tail->add_option("--kafka-setting", tail_opt.settings, "librdkafka property name=value (repeatable)");

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

  // rotor kek rotate
  KekRotateOptions kek_opt;
  auto* kek = app.add_subcommand("kek", "The key-encryption key that seals the CA keys at rest");
  kek->require_subcommand(1);
  auto* kek_rotate = kek->add_subcommand("rotate", "Re-seal every CA key under a new KEK (no daemon may run)");
  AddDataDir(kek_rotate, &kek_opt.data_dir);
  kek_rotate->add_option("--config", kek_opt.config, "Fleet file whose ca.kek_file names the KEK in use");
  kek_rotate->add_option("--new-kek-file", kek_opt.new_kek_file,
                         "The new KEK (64 hex digits, mode 0600); default: a fresh one replaces <data-dir>/kek");
  // rotor import / rotor inventory (app/inventory.h)
  ImportOptions import_opt;
  auto* import = app.add_subcommand("import", "Read existing certificates, keys and CSRs into the inventory");
  AddDataDir(import, &import_opt.data_dir);
  import->add_option("paths", import_opt.paths, "Files and directories to read")->required();
  import->add_flag("--json", import_opt.json, "One JSON object per item");
  import->add_flag("--recursive,-r", import_opt.recursive, "Descend into subdirectories");
  AddDueRule(import, &import_opt.due);
  import->add_flag("--adopt", import_opt.adopt,
                   "Take the leaf certificates (with their keys) over as managed identities under --policy of "
                   "--config; no daemon may run");
  import->add_flag("--dry-run", import_opt.dry_run, "With --adopt: show what would be adopted; change nothing");
  import->add_option("--id", import_opt.adopt_ids,
                     "With --adopt: the identity id of one certificate, SERIAL=ID or sha256:FINGERPRINT=ID "
                     "(repeatable; default: from its first DNS name, else its CN)");
  import->add_option("--id-prefix", import_opt.id_prefix, "With --adopt: put this before every derived id");
  InventoryOptions inventory_opt;
  auto* inventory = app.add_subcommand("inventory", "List imported credentials by expiry, with a summary per status");
  AddDataDir(inventory, &inventory_opt.data_dir);
  auto* inventory_json = inventory->add_flag("--json", inventory_opt.json, "One JSON object per item");
  auto* inventory_csv = inventory->add_flag("--csv", inventory_opt.csv, "CSV, one line per item");
  inventory_json->excludes(inventory_csv);
  inventory->add_option("--expiring-within", inventory_opt.expiring_within,
                        "Only certificates expiring within DURATION (e.g. 30d), expired ones included");
  inventory->add_option("--fail-on", inventory_opt.fail_on, "Exit 1 when a certificate shown is expired, or due")
      ->check(CLI::IsMember({"expired", "due"}));
  inventory->add_option("--serial", inventory_opt.serial,
                        "Only the certificate of this serial (07:27:7f:52, 0x07277F52)");
  AddDueRule(inventory, &inventory_opt.due);

  // `rotor help [COMMAND]` is `rotor [COMMAND] --help`.
  if (argc > 1 && std::string(argv[1]) == "help") {
    const CLI::App* about = &app;
    if (argc > 2) {
      if (!KnownSubcommand(app, argv[2], "")) return kExitUsage;
      about = app.get_subcommand(argv[2]);
    }
    std::fputs(about->help().c_str(), stdout);
    return kExitOk;
  }
  // CLI11 reports an unknown command only as "a subcommand is required": name it.
  if (argc > 1 && argv[1][0] != '-' && !KnownSubcommand(app, argv[1], "")) return kExitUsage;
  if (argc > 2 && std::string(argv[1]) == "audit" && argv[2][0] != '-' && !KnownSubcommand(*audit, argv[2], "audit ")) {
    return kExitUsage;
  }
  if (argc > 2 && std::string(argv[1]) == "kek" && argv[2][0] != '-' && !KnownSubcommand(*kek, argv[2], "kek ")) {
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
    std::string why = e.what();
    const bool required = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr;
    if (required || dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      // CLI11 names neither the flag meant nor, when a required option is
      // also missing, the misspelt flag at all.
      const CLI::App* leaf = &app;
      while (!leaf->get_subcommands().empty()) leaf = leaf->get_subcommands().front();
      const std::string unknown = leaf != &app ? UnknownFlag(*leaf, argc, argv) : "";
      if (!unknown.empty()) {
        why = unknown;
      } else if (required && leaf->get_require_subcommand_min() > 0 && leaf->get_subcommands().empty()) {
        why = (leaf == &app ? std::string("a command is needed") : leaf->get_name() + " needs a command") + ": " +
              SubcommandNames(*leaf);
      } else if (required && leaf != &app) {
        // "paths is required" says less than the argument's own description.
        for (const CLI::Option* opt : leaf->get_options()) {
          if (opt->get_positional() && opt->get_required() && opt->count() == 0) {
            why = leaf->get_name() + " needs " + opt->get_name() + ": " + opt->get_description();
            break;
          }
        }
      }
    }
    std::fprintf(stderr, "rotor: %s\nRun `rotor --help` or `rotor <command> --help` for usage.\n", why.c_str());
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
  if (*import) return RunImport(import_opt);
  if (*inventory) return RunInventory(inventory_opt);
  if (*kek_rotate) return RunKekRotate(kek_opt);
  if (*verify && !kafka_verify.bootstrap.empty()) {
    kafka_verify.json = audit_json;
    return RunAuditVerifyKafka(kafka_verify);
  }
  if (*verify) return RunAuditVerify(audit_dir, audit_json);
  if (*tail) {
    tail_opt.follow = !no_follow;
    return RunAuditTail(tail_opt);
  }
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
