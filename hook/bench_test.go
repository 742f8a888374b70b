package hook

import (
	"os/exec"
	"testing"
)

// BenchmarkExec measures the cost of one on_upload run besides the command's own work: process
// group, environment, stdin, output capture, wait (with /bin/true as the command).
func BenchmarkExec(b *testing.B) {
	prog, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true")
	}
	job := Job{Folder: b.TempDir(), Rel: "a.jpg", Entry: sampleEntry()}
	for b.Loop() {
		if res := Run(b.Context(), Spec{Command: []string{prog}}, job); res.Status != Done {
			b.Fatal(res)
		}
	}
}
