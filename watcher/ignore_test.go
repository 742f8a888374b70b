package watcher

import "testing"

func TestIgnored(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		want  bool
	}{
		{"IMG_0001.jpg", nil, false},
		{"clip.MP4", nil, false},
		{"shoot-01", nil, false},
		{"4913.jpg", nil, false},
		{"a#b.jpg", nil, false},
		{".DS_Store", nil, true},
		{"._IMG_0001.jpg", nil, true},
		{".mediasync", nil, true},
		{".export.jpg.tmp", nil, true},
		{".IMG_0001.jpg.a1b2c3", nil, true}, // rsync / renameio temporaries
		{"export.jpg.tmp", nil, true},
		{"export.JPG.TMP", nil, true},
		{"video.mp4.part", nil, true},
		{"video.mp4.partial", nil, true},
		{"video.mp4.crdownload", nil, true},
		{"video.mp4.download", nil, true},
		{"video.mp4.!ut", nil, true},
		{"notes.txt.swp", nil, true},
		{"IMG_0001.jpg~", nil, true},
		{"~$report.docx", nil, true},
		{"~WRL0001.tmp", nil, true},
		{"#IMG.jpg#", nil, true},
		{"4913", nil, true},
		{"Thumbs.db", nil, true},
		{"THUMBS.DB", nil, true},
		{"desktop.ini", nil, true},
		{"Icon\r", nil, true},
		{"$RECYCLE.BIN", nil, true},
		{"@eaDir", nil, true},
		{"@EADIR", nil, true},
		{"#recycle", nil, true},
		{"#snapshot", nil, true},
		{"@tmp", nil, true},
		{"@sharebin", nil, true},
		{"@SynologyCloudSync", nil, true},
		{".SynologyWorkingDirectory", nil, true},
		{".@__thumb", nil, true},
		{"@Recycle", nil, true},
		{"", nil, true},
		{"IMG_0001.jpg", []string{"*.xmp"}, false},
		{"IMG_0001.xmp", []string{"*.xmp"}, true},
		{"IMG_0001.XMP", []string{"*.xmp"}, true},
		{"IMG_0001.xmp", []string{"*.XMP"}, true},
		{"raw", []string{"raw", "*.cr3"}, true},
		{"IMG_0001.jpg", []string{"["}, false}, // invalid pattern matches nothing
	}
	for _, tt := range tests {
		if got := Ignored(tt.name, tt.extra); got != tt.want {
			t.Errorf("Ignored(%q, %q) = %v, want %v", tt.name, tt.extra, got, tt.want)
		}
	}
}

func TestLowerPatterns(t *testing.T) {
	tests := []struct {
		pats    []string
		want    []string
		wantErr bool
	}{
		{nil, []string{}, false},
		{[]string{"*.XMP", "Raw?"}, []string{"*.xmp", "raw?"}, false},
		{[]string{"["}, nil, true},
		{[]string{""}, nil, true},
		{[]string{"a/b"}, nil, true},
	}
	for _, tt := range tests {
		got, err := lowerPatterns(tt.pats)
		if (err != nil) != tt.wantErr {
			t.Errorf("lowerPatterns(%q) error = %v, want error %v", tt.pats, err, tt.wantErr)
			continue
		}
		if err == nil && len(got) != len(tt.want) {
			t.Errorf("lowerPatterns(%q) = %q, want %q", tt.pats, got, tt.want)
		}
		for i := range tt.want {
			if err == nil && got[i] != tt.want[i] {
				t.Errorf("lowerPatterns(%q) = %q, want %q", tt.pats, got, tt.want)
			}
		}
	}
}
