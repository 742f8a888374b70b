package config_test

import (
	"fmt"

	"github.com/mediasync/mediasync/config"
)

func ExampleParseSize() {
	for _, s := range []string{"4MiB", "5 MB", "1.5KiB", "4194304", "4M"} {
		n, err := config.ParseSize(s)
		fmt.Println(s, "=", n, err)
	}
	// Output:
	// 4MiB = 4194304 <nil>
	// 5 MB = 5000000 <nil>
	// 1.5KiB = 1536 <nil>
	// 4194304 = 4194304 <nil>
	// 4M = 0 invalid configuration: "4M" has an ambiguous unit; write 4KiB/4MiB/... (1024-based) or 4KB/4MB/... (1000-based)
}

func ExampleLoad() {
	_, err := config.Load("testdata/bad/v11.yaml")
	for _, p := range config.Problems(err) {
		fmt.Printf("line %d, %s: %s\n", p.Line, p.Path, p.Message)
	}
	fmt.Println("exit code 2:", config.IsInvalid(err))
	// Output:
	// line 3, api.auth: oauth2 needs api.version v2 (v1.1 speaks OAuth 1.0a only)
	// line 5, upload.chunk_size: 6MiB (6291456 bytes) is too large; at most 5MiB (5242880 bytes) on v1.1
	// exit code 2: true
}

func ExampleConfig_Validate() {
	cfg := config.Default()
	f := config.DefaultFolder("/srv/exports")
	f.AfterUpload = "move:uploaded"
	cfg.Folders = []config.Folder{f}
	fmt.Println(cfg.Validate())

	cfg.Folders[0].AfterUpload = "move:.uploaded"
	fmt.Println(cfg.Validate(), cfg.Folders[0].MoveDir(), cfg.Folders[0].Manifest, cfg.API.BaseURL)
	// Output:
	// folders[0].after_upload: move target "/srv/exports/uploaded" is watched by folders[0] ("/srv/exports"): moved files would be uploaded again; use a directory outside it, or one whose name starts with "."
	// <nil> /srv/exports/.uploaded /srv/exports/.mediasync/manifest.json https://api.x.com
}

func ExampleSecret() {
	s := config.Secret("hunter2")
	fmt.Printf("%v %s %q %#v %d\n", s, s, s, s, s)
	fmt.Println(s.Reveal() == "hunter2")
	// Output:
	// [redacted] [redacted] "[redacted]" "[redacted]" [redacted]
	// true
}
