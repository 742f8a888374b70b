// Package fit makes a photo fit X: a photo over its category's limit (5 MB for tweet_image), or of
// a type X does not show (TIFF, BMP), becomes a JPEG derivative that X takes. The original is only
// read. [Needed] says whether a file needs it, and why, in a sentence for the photographer; [Fit]
// writes the derivative and describes it.
//
// # The derivative
//
//   - Decoded from JPEG, PNG, TIFF, WebP or BMP (first frame). HEIC, HEIF and AVIF are refused with
//     [ErrUndecodable] and how to export a JPEG: there is no pure-Go decoder for them.
//   - Long edge at most Options.MaxEdge (4096), never enlarged, scaled with x/image/draw's
//     Catmull-Rom (no moiré on fine patterns, unlike bilinear), in bands of 64 rows or columns.
//   - Turned by the EXIF orientation, so that it displays upright and carries none; transparency
//     composited over white.
//   - Baseline JPEG at the highest quality from Options.MinQuality (60) to 100 that fits
//     Options.MaxBytes (binary search); if none does, the edge shrinks and the search runs again,
//     giving up below 64 pixels with [ErrCannotFit].
//   - The ICC profile kept byte for byte (as APP2 segments) when its colour space is the
//     derivative's; no other metadata (EXIF with GPS, XMP, IPTC) unless Options.KeepMetadata, which
//     keeps the EXIF block with orientation 1 and the new dimensions.
//
// # Guarantees
//
// Deterministic: the same source bytes and Options give the same bytes (for one build and
// architecture), so a crash-resumed upload regenerates the derivative and checks its SHA-256.
// Bounded: a header claiming more than Options.MaxPixels (200 million) is refused before decoding;
// at most two frames are in memory at once, and for photos of 4 MP or more Fit runs the garbage
// collector before decoding and after dropping the source, so a 45-MP JPEG peaks near 165 MiB
// (bench/fit.sh). Callers fit one photo at a time. Metadata walks are bounded and malformed
// metadata counts as absent.
//
// # Errors and cancellation
//
// Errors about the photo wrap [ErrUndecodable] or [ErrCannotFit] and end with what the
// photographer can do; a read error says so and wraps its cause. Cancelling ctx stops Fit at its
// next read, band or encode with ctx.Err(). Fit writes to dst only once it has the whole
// derivative, in one Write. The package has no state and starts no goroutines.
package fit
