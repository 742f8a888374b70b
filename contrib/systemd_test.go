package contrib

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// unit is a parsed systemd unit file: section → key → values in order (a key may repeat).
type unit map[string]map[string][]string

// knownUnitKeys lists, per section, the keys these units may use (systemd.unit(5),
// systemd.service(5), systemd.exec(5), systemd.kill(5), systemd.resource-control(5)). It catches
// a misspelt key when systemd-analyze is not installed; systemd itself only warns about them.
var knownUnitKeys = map[string][]string{
	"Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before", "ConditionPathExists",
		"StartLimitIntervalSec", "StartLimitBurst", "RequiresMountsFor"},
	"Service": {"Type", "User", "Group", "SupplementaryGroups", "ExecStart", "ExecStartPre", "EnvironmentFile", "Environment",
		"Restart", "RestartSec", "RestartPreventExitStatus", "KillSignal", "KillMode", "TimeoutStopSec", "UMask",
		"Nice", "IOSchedulingClass", "IOSchedulingPriority",
		"NoNewPrivileges", "ProtectSystem", "ProtectHome", "ReadWritePaths", "ReadOnlyPaths", "PrivateTmp", "PrivateMounts",
		"PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
		"ProtectClock", "ProtectHostname", "ProtectProc", "RestrictAddressFamilies", "RestrictNamespaces",
		"RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "RemoveIPC",
		"SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "CapabilityBoundingSet",
		"AmbientCapabilities"},
	"Install": {"WantedBy", "Alias"},
}

// parseUnit parses the unit syntax of systemd.syntax(7): [Section] headers, Key=Value lines,
// comments starting with # or ;, and lines continued with a trailing backslash.
func parseUnit(data []byte) (unit, error) {
	u := unit{}
	var section string
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		for strings.HasSuffix(line, `\`) && sc.Scan() {
			n++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(sc.Text())
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", n, line)
			}
			section = line[1 : len(line)-1]
			if _, dup := u[section]; dup {
				return nil, fmt.Errorf("line %d: section [%s] repeated", n, section)
			}
			u[section] = map[string][]string{}
		default:
			if section == "" {
				return nil, fmt.Errorf("line %d: %q before any section", n, line)
			}
			k, v, ok := strings.Cut(line, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" || strings.ContainsAny(k, " \t") {
				return nil, fmt.Errorf("line %d: %q is not Key=Value", n, line)
			}
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	return u, sc.Err()
}

// last returns the effective (last) value of a key, and whether it is set.
func (u unit) last(section, key string) (string, bool) {
	vs := u[section][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

type unitCase struct {
	file      string
	user      bool              // a systemd --user unit
	execStart string            // exactly
	want      map[string]string // Service keys and their effective value
}

var unitCases = []unitCase{
	{
		file:      "systemd/mediasync.service",
		execStart: "/usr/local/bin/mediasync run --config /etc/mediasync/config.yaml",
		want: map[string]string{
			"EnvironmentFile":         "-/etc/mediasync/env",
			"Restart":                 "on-failure",
			"KillSignal":              "SIGTERM",
			"NoNewPrivileges":         "yes",
			"ProtectSystem":           "strict",
			"PrivateTmp":              "yes",
			"PrivateDevices":          "yes",
			"ProtectKernelTunables":   "yes",
			"ProtectKernelModules":    "yes",
			"ProtectKernelLogs":       "yes",
			"ProtectControlGroups":    "yes",
			"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
			"CapabilityBoundingSet":   "",
			"AmbientCapabilities":     "",
			"LockPersonality":         "yes",
			"MemoryDenyWriteExecute":  "yes",
			"RestrictSUIDSGID":        "yes",
			"SystemCallArchitectures": "native",
		},
	},
	{
		file:      "systemd/mediasync-user.service",
		user:      true,
		execStart: "%h/.local/bin/mediasync run --config %h/.config/mediasync/config.yaml",
		want: map[string]string{
			"EnvironmentFile":         "-%h/.config/mediasync/env",
			"Restart":                 "on-failure",
			"KillSignal":              "SIGTERM",
			"NoNewPrivileges":         "yes",
			"LockPersonality":         "yes",
			"MemoryDenyWriteExecute":  "yes",
			"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		},
	},
}

func TestSystemdUnits(t *testing.T) {
	for _, tc := range unitCases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte("#")) || !bytes.Contains(data, []byte("Install")) {
				t.Errorf("%s: want a comment header explaining how to install it", tc.file)
			}
			u, err := parseUnit(data)
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			for section, keys := range u {
				known, ok := knownUnitKeys[section]
				if !ok {
					t.Errorf("%s: unexpected section [%s]", tc.file, section)
					continue
				}
				for k := range keys {
					if !slices.Contains(known, k) {
						t.Errorf("%s: [%s] %s is not a key this test knows; misspelt? (add it to knownUnitKeys if real)", tc.file, section, k)
					}
				}
			}
			for _, s := range []string{"Unit", "Service", "Install"} {
				if _, ok := u[s]; !ok {
					t.Errorf("%s: no [%s] section", tc.file, s)
				}
			}
			if d, _ := u.last("Unit", "Description"); d == "" {
				t.Errorf("%s: no Description", tc.file)
			}
			if got := u["Service"]["ExecStart"]; len(got) != 1 || got[0] != tc.execStart {
				t.Errorf("%s: ExecStart = %q, want exactly [%q]", tc.file, got, tc.execStart)
			}
			for k, want := range tc.want {
				if got, ok := u.last("Service", k); !ok || got != want {
					t.Errorf("%s: %s = %q (set: %v), want %q", tc.file, k, got, ok, want)
				}
			}
			if v, _ := u.last("Service", "TimeoutStopSec"); v == "" {
				t.Errorf("%s: no TimeoutStopSec: in-flight uploads need time to stop resumably", tc.file)
			}
			if v, _ := u.last("Service", "RestartPreventExitStatus"); !slices.Contains(strings.Fields(v), "2") {
				t.Errorf("%s: RestartPreventExitStatus = %q, want it to include 2 (config error: restarting cannot help)", tc.file, v)
			}
			if !slices.Contains(u["Service"]["SystemCallFilter"], "@system-service") {
				t.Errorf("%s: SystemCallFilter = %q, want @system-service among them", tc.file, u["Service"]["SystemCallFilter"])
			}
			wanted, _ := u.last("Install", "WantedBy")
			if tc.user {
				if _, ok := u.last("Service", "User"); ok {
					t.Errorf("%s: a --user unit must not set User=", tc.file)
				}
				if wanted != "default.target" {
					t.Errorf("%s: WantedBy = %q, want default.target", tc.file, wanted)
				}
				return
			}
			if user, _ := u.last("Service", "User"); user == "" || user == "root" || user == "0" {
				t.Errorf("%s: User = %q, want a dedicated non-root user", tc.file, user)
			}
			if ph, _ := u.last("Service", "ProtectHome"); ph != "read-only" && ph != "tmpfs" && ph != "yes" {
				t.Errorf("%s: ProtectHome = %q, want read-only, tmpfs or yes", tc.file, ph)
			}
			if len(u["Service"]["ReadWritePaths"]) == 0 {
				t.Errorf("%s: no ReadWritePaths: with ProtectSystem=strict the manifest could not be written", tc.file)
			}
			if wanted != "multi-user.target" {
				t.Errorf("%s: WantedBy = %q, want multi-user.target", tc.file, wanted)
			}
		})
	}
}

// TestSystemdAnalyzeVerify runs `systemd-analyze verify` on both units. The binary in ExecStart is
// the only thing changed: verify insists that it exists and is executable, so the test points it at
// an executable in a temporary directory. Any warning fails the test, not just a non-zero exit.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("MEDIASYNC_REQUIRE_SYSTEMD_ANALYZE") == "1" {
			t.Fatal("systemd-analyze not found and MEDIASYNC_REQUIRE_SYSTEMD_ANALYZE=1 (install the systemd package)")
		}
		t.Skip("systemd-analyze not installed; TestSystemdUnits still parses the units")
	}
	for _, tc := range unitCases {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			home := filepath.Join(dir, "home")
			bin := filepath.Join(dir, "bin", "mediasync")
			from := "/usr/local/bin/mediasync"
			if tc.user {
				bin = filepath.Join(home, ".local", "bin", "mediasync")
				from = "%h/.local/bin/mediasync"
			}
			if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(from)) {
				t.Fatalf("%s: ExecStart does not use %s", tc.file, from)
			}
			if !tc.user {
				data = bytes.ReplaceAll(data, []byte(from), []byte(bin))
			}
			path := filepath.Join(dir, "mediasync.service")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"verify", "--man=no", path}
			if tc.user {
				args = append([]string{"--user"}, args...)
			}
			cmd := exec.CommandContext(t.Context(), sa, args...)
			cmd.Dir = dir
			runtime := filepath.Join(dir, "run")
			if err := os.Mkdir(runtime, 0o700); err != nil {
				t.Fatal(err)
			}
			// A user manager needs a runtime directory; %h resolves to HOME.
			cmd.Env = append(os.Environ(), "HOME="+home, "XDG_RUNTIME_DIR="+runtime, "SYSTEMD_LOG_COLOR=0")
			out, err := cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

func TestSysusers(t *testing.T) {
	data, err := os.ReadFile("systemd/mediasync.sysusers")
	if err != nil {
		t.Fatal(err)
	}
	u, err := os.ReadFile("systemd/mediasync.service")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parseUnit(u)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := parsed.last("Service", "User")
	var lines []string
	for l := range strings.SplitSeq(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("mediasync.sysusers: %d entries, want 1: %q", len(lines), lines)
	}
	f := strings.Fields(lines[0])
	// u NAME ID "GECOS" HOME SHELL; the GECOS is quoted and has spaces, so check the ends.
	if len(f) < 4 || f[0] != "u" || f[1] != user || f[2] != "-" || f[len(f)-1] != "/usr/sbin/nologin" {
		t.Errorf("mediasync.sysusers entry %q: want `u %s - \"…\" HOME /usr/sbin/nologin`", lines[0], user)
	}
	if sysusers, err := exec.LookPath("systemd-sysusers"); err == nil {
		// --dry-run against an empty root: parses the file and plans the user without writing.
		root := t.TempDir()
		conf := filepath.Join(root, "usr", "lib", "sysusers.d", "mediasync.conf")
		if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(conf, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), sysusers, "--dry-run", "--root="+root).CombinedOutput()
		// It exits 0 even when it cannot parse a line, so read what it says.
		if err != nil || !strings.Contains(string(out), "Creating user '"+user+"'") || strings.Contains(string(out), "Failed") {
			t.Errorf("systemd-sysusers --dry-run: %v\n%s", err, out)
		}
	}
}
