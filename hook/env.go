package hook

import (
	"os"
	"runtime"
	"slices"
	"strings"
)

// DefaultPath is the PATH a command gets when the agent has none (systemd's default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BaseEnv returns the names of the variables every command inherits from the agent when they are
// set: what programs need to find other programs, write temporary files and speak the user's
// language, and nothing that could hold a credential. On Windows it adds what processes there need
// to start at all.
func BaseEnv() []string {
	names := []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE",
		"LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES", "LC_MONETARY", "LC_NUMERIC", "LC_TIME",
		"TZ", "TMPDIR"}
	if runtime.GOOS == "windows" {
		names = append(names, "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT",
			"TEMP", "TMP", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "PROGRAMDATA")
	}
	return names
}

// environ builds a command's environment: BaseEnv and extra as set in the agent's environment,
// then vars. Values lose NUL bytes, which an environment cannot carry.
func environ(extra []string, vars []string) []string {
	var env []string
	hasPath := false
	for _, name := range slices.Concat(BaseEnv(), extra) {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+clean(v))
			hasPath = hasPath || strings.EqualFold(name, "PATH")
		}
	}
	if !hasPath && runtime.GOOS != "windows" {
		env = append([]string{"PATH=" + DefaultPath}, env...)
	}
	for _, kv := range vars {
		env = append(env, clean(kv))
	}
	return env
}

func clean(s string) string { return strings.ReplaceAll(s, "\x00", "") }
