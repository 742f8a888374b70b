//go:build !unix

package hook

import (
	"fmt"
	"os"
	"os/exec"
)

// Without Unix process groups only the command's own process can be signalled.
func newProcessGroup(*exec.Cmd) {}

func terminateGroup(p *os.Process) { killGroup(p) }

func killGroup(p *os.Process) {
	if p != nil {
		_ = p.Kill()
	}
}

func exitReason(ps *os.ProcessState) string { return fmt.Sprintf("exit status %d", ps.ExitCode()) }
