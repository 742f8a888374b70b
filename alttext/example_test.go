package alttext_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/alttext/alttexttest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

func ExampleFind() {
	dir, err := os.MkdirTemp("", "alttext-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// A Lightroom export: the caption is in the photo's XMP and IPTC.
	photo := filepath.Join(dir, "IMG_0001.jpg")
	jpg := alttexttest.WithIPTCCaption(alttexttest.WithXMPDescription(mediagen.JPEG(16, 16, 1), "Harbour at dawn"), "Harbour at dawn")
	if err := os.WriteFile(photo, jpg, 0o644); err != nil {
		fmt.Println(err)
		return
	}
	text, src, _, err := alttext.Find(photo, "auto")
	fmt.Printf("%q from %s, err %v\n", text, src, err)

	// The editor adds a sidecar: in auto mode it wins over the embedded caption.
	if err := os.WriteFile(filepath.Join(dir, "IMG_0001.alt.txt"), []byte("Fishing boats return to the harbour at dawn.\n"), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	text, src, _, err = alttext.Find(photo, "auto")
	fmt.Printf("%q from %s, err %v\n", text, src, err)
	text, src, _, err = alttext.Find(photo, "embedded")
	fmt.Printf("%q from %s, err %v\n", text, src, err)
	// Output:
	// "Harbour at dawn" from xmp, err <nil>
	// "Fishing boats return to the harbour at dawn." from sidecar, err <nil>
	// "Harbour at dawn" from xmp, err <nil>
}
