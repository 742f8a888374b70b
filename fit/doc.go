// Package fit makes a photo fit X: a photo over its media category's limit
// (5 MB for tweet_image), or of a type X does not show (TIFF, BMP), becomes
// a JPEG derivative that X takes. The original is only read.
//
// [Needed] says whether a file needs it, and why, in a sentence for the
// photographer; [Fit] writes the derivative to an io.Writer and returns its
// dimensions, size, SHA-256 and JPEG quality. [HumanBytes] says sizes as
// people read them ("17.5 MB").
//
// # The derivative
//
//   - Decoded from JPEG, PNG, TIFF (uncompressed, LZW, Deflate, PackBits),
//     WebP or BMP; the first frame only. HEIC, HEIF and AVIF are refused
//     with [ErrUndecodable] and a reason saying how to export a JPEG: there
//     is no pure-Go decoder for them (see cannotRead for the one CGo-free
//     option and why it is not used).
//   - Its long edge at most Options.MaxEdge (4096), never enlarged, scaled
//     with golang.org/x/image/draw's Catmull-Rom kernel.
//   - Turned by the source's EXIF orientation (TIFF: its Orientation tag), so
//     that it displays upright and carries no orientation.
//   - Composited over white where the source is transparent.
//   - Baseline JPEG, 4:2:0 (grayscale stays one component), at the highest
//     quality from Options.MinQuality (60) to 100 that fits
//     Options.MaxBytes, found by binary search. If not even MinQuality fits,
//     the long edge is reduced (by the square root of the overshoot, at least
//     10%) and the search runs again; below 64 pixels it gives up with
//     [ErrCannotFit].
//   - The source's ICC profile (JPEG APP2 ICC_PROFILE chunks, PNG iCCP, TIFF
//     tag 34675, WebP ICCP) is written as APP2 ICC_PROFILE segments, byte for
//     byte, if its colour space is the derivative's (RGB, or GRAY for
//     grayscale); a CMYK profile is dropped with the CMYK.
//   - No other metadata (EXIF with GPS, XMP, IPTC, comments) unless
//     Options.KeepMetadata: then the source's EXIF block is kept with
//     Orientation 1, the new pixel dimensions and no thumbnail.
//
// # Guarantees
//
// Deterministic: the same source bytes and Options give the same derivative,
// byte for byte, so a crash-resumed upload can regenerate it and check it
// against the SHA-256 it recorded. This holds for one build of mediasync:
// another Go release may encode differently, and so may another
// architecture (Go may fuse multiply-adds in the scaler on arm64); a caller
// that finds a different SHA-256 after an upgrade uploads afresh.
//
// Bounded: a photo whose header claims more than Options.MaxPixels (200
// million) is refused before it is decoded. At most two frames are in
// memory at once: the decoded source and the horizontally scaled frame, then
// that and the scaled one, then the scaled one and its turned copy. The
// scaler works in bands of 64 rows or columns. For a photo of 4 megapixels
// or more Fit runs the garbage collector twice (runtime.GC): before decoding,
// so that the frames of a previous fit do not add to this one's peak, and
// once the source is dropped; the frames hold no pointers, so each
// collection is quick. A 45-megapixel JPEG peaks at about 165 MiB (3.7
// bytes per source pixel), 102 megapixels at 300 MiB; it takes 5.5 to 7 s
// of one CPU core (bench/fit.sh). That is per fit: a caller fitting several
// photos at once needs it for each, so the agent fits one at a time.
//
// Untrusted input: metadata walks are bounded (segment and chunk counts, a
// profile by the 255 × 65,519 bytes JPEG can carry, EXIF by one segment) and
// malformed metadata counts as absent.
//
// # Errors and cancellation
//
// Errors about the photo wrap [ErrUndecodable] or [ErrCannotFit] and end in
// a sentence saying what the photographer can do. A read error says so and
// wraps the cause (the file may be gone: not a property of the photo).
// Cancelling ctx stops Fit at its next read, band or encode; it returns
// ctx.Err() itself and writes nothing. Fit writes to dst only once it has
// the whole derivative, in one Write.
//
// The package has no state and starts no goroutines; its functions are safe
// for concurrent use. It imports nothing from mediasync.
package fit
