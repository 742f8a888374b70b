// Package alttext finds the alt text to send with a media file: a caption the
// user wrote in a sidecar text file beside it, or the caption embedded in the
// photo itself by Lightroom, Capture One, Photo Mechanic, Bridge and the like.
//
// # Modes
//
// [Find] takes the folder's alt_text mode (SPEC.md §3):
//
//   - "none": no alt text; nothing is read.
//   - "sidecar": the first non-blank file of [SidecarPaths] (IMG_1.jpg.alt.txt,
//     IMG_1.alt.txt, IMG_1.jpg.txt, IMG_1.txt), read as UTF-8 (with or without
//     a byte order mark), UTF-16 with a byte order mark (Windows Notepad's
//     "Unicode"), else Windows-1252. A sidecar that exists but cannot be read
//     is an error, never a silent fall-back to the embedded caption.
//   - "embedded": the caption embedded in the file (see below).
//   - "auto": sidecar, else embedded.
//
// # Embedded captions
//
// [Embedded] reads JPEG, PNG and WebP. Other formats (GIF, video) have no
// caption it knows of and give "". In order of preference:
//
//  1. XMP: Iptc4xmpCore:AltTextAccessibility (the IPTC 2021 "Alt Text
//     (Accessibility)" field, written precisely for this purpose), then
//     dc:description (the caption); each an rdf:Alt whose x-default item wins,
//     else its first non-empty item, or the attribute or plain-text form.
//  2. IPTC IIM Caption-Abstract (2:120), from the Photoshop APP13 block.
//     UTF-8 when CodedCharacterSet (1:90) says so or the bytes are valid UTF-8,
//     else Windows-1252 (a superset of Latin-1 for printable text).
//  3. EXIF ImageDescription (IFD0, tag 0x010E).
//
// PNG adds its Description text chunk (tEXt, zTXt or iTXt) between XMP and
// EXIF (eXIf chunk), reported as [PNGText]; WebP has XMP and EXIF chunks.
// A source whose text is empty, or is a placeholder cameras write on their own
// ("OLYMPUS DIGITAL CAMERA", "SONY DSC", ...), is passed over for the next.
//
// # Text
//
// Text from every source is cleaned: valid UTF-8, line breaks as "\n", tabs as
// spaces, NUL and other control characters removed, trailing spaces on lines
// and surplus blank lines dropped, trimmed. [Embedded] returns it so. [Find]
// (and [Normalize], which does both steps) also cuts it to [MaxLen] runes at a
// word boundary, ends it with "…" unless the kept part ends a sentence, and
// reports truncated = true.
//
// # Untrusted input
//
// Media files and sidecars come from anyone who can write to a watched
// folder. Every read is bounded (a JPEG segment by its 16-bit length; XMP,
// IPTC and EXIF blocks by 1 MiB; a sidecar's text by 64 KiB, and the check
// that nothing but blanks was cut from it by 1 MiB more; decompression by
// 1 MiB per chunk and 4 MiB per file, after which compressed text counts as
// absent), the walk over segments and chunks is bounded, a FIFO is never
// waited on, and malformed metadata (lengths past the end, truncated IFDs, bad
// XML) never panics: the broken block is treated as absent and the next
// source is tried. Only a file that cannot be read (or an invalid mode) is an
// error. A sidecar must be a regular file: a symbolic link is refused (an
// [*Error] for which [IsSidecar] is true), so a link planted in a shared
// folder cannot publish some other file's contents as alt text.
//
// The package has no state and starts no goroutines; all functions are safe
// for concurrent use. Its reads are few, small and local, so [Find] takes no
// context: a read blocked on a hung network mount could not be cancelled by
// one anyway.
package alttext
