// Package render converts images as Adobe Scene7 Image Serving does for an
// export (fmt=convert): it renders a parsed modifier.Request with libvips
// (Renderer.Render), one small step after another. Parsing the modifier
// language (commands, macros, variables) is package modifier's; this
// package is its only cgo part.
//
// It knows images and modifier strings only, nothing of SOAP or jobs.
//
// libvips is initialised once per process by github.com/h2non/bimg's package
// init (vips_init). New then applies the process-wide libvips settings this
// service wants; see Config.
package render

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/h2non/bimg"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// Defaults: docs/rendering.md, "Defaults".
const (
	DefaultMaxInputPixels  = 100_000_000
	DefaultMaxOutputWidth  = 16384
	DefaultMaxOutputHeight = 16384
	defaultQuality         = 80
	defaultArenaMax        = 2
)

// defaultBgc is attribute::BkgColor in Adobe's server template: white.
var defaultBgc = modifier.ColorValue{Kind: modifier.ColorRGB, V: [4]float64{255, 255, 255}, A: 255}

// Config configures a Renderer. The zero value is usable.
type Config struct {
	// MaxInputPixels bounds the source's width×height (first page), checked
	// from the header before any pixel is decoded: a guard against
	// decompression bombs. 0 means DefaultMaxInputPixels.
	MaxInputPixels int64
	// MaxOutputWidth and MaxOutputHeight bound the reply image (the
	// attribute::MaxPix of IS). 0 means 16384.
	MaxOutputWidth, MaxOutputHeight int
	// MaxOutputBytes bounds the encoded reply where its size is known
	// before encoding (uncompressed TIFF: width × height × bands × bytes
	// per sample): a larger one fails with ErrOutputBytes before a pixel
	// is computed. 0 is no bound; compressed formats are the caller's to
	// check once encoded.
	MaxOutputBytes int64
	// ICCProfiles maps icc= names to profile files and ICCProfileData to
	// profile bytes (`ipsd admin icc add`). Names match case-insensitively.
	// The standard names of Image Serving (CoatedFogra39, AdobeRGB, …) work
	// without them, through the closest profile found under ICCDir or built
	// in (docs/formats.md); a registered profile of the same name replaces
	// the standard one under all of its names.
	ICCProfiles    map[string]string
	ICCProfileData map[string][]byte
	// ICCDir holds the system profiles behind the standard names; "" means
	// DefaultICCDir.
	ICCDir string

	// RasterDPI is the resolution PDF, Illustrator and PostScript sources
	// are rasterised at (0: DefaultRasterDPI; at most MaxRasterDPI).
	RasterDPI float64
	// RasterTimeout bounds one Ghostscript run for a PostScript source
	// (0: DefaultRasterTimeout). Ghostscript is the "gs" on PATH unless
	// Ghostscript names another.
	RasterTimeout time.Duration
	Ghostscript   string

	// Concurrency is the number of libvips worker threads per render
	// (process-wide). 0 keeps what bimg's init chose: 1, unless the
	// VIPS_CONCURRENCY environment variable says otherwise. One thread per
	// render is deliberate for a server: parallelism comes from rendering
	// several assets at once (one per export worker), which keeps every core
	// busy without oversubscribing them and keeps per-thread buffers few.
	Concurrency int
	// MallocArenaMax caps glibc malloc arenas (process-wide mallopt), since
	// RSS growth under libvips load is mostly arena fragmentation
	// (docs/rendering.md, "Measured on this machine"). 0 means 2; a negative value leaves glibc's default.
	MallocArenaMax int

	// Logger receives debug logs of each render; nil discards them.
	Logger *slog.Logger
}

// Renderer renders Requests. It is safe for concurrent use.
type Renderer struct {
	maxIn      int64
	maxW, maxH int
	maxBytes   int64
	profiles   map[string]*iccProfile // by profileKey
	files      []*os.File             // in-memory profile files (iccnames.go)
	srgb, cmyk []byte                 // libvips built-in profiles, for iccEmbed
	log        *slog.Logger

	rasterDPI     float64
	rasterTimeout time.Duration
	ghostscript   string
	version       string // fingerprint.go
}

// New returns a Renderer and applies the process-wide libvips settings:
// the operation cache is switched off (a renderer of distinct assets gets no
// hits from it, it would pin their memory, and cached loads key on buffer
// addresses that are reused), concurrency as configured, malloc arenas capped.
func New(cfg Config) (*Renderer, error) {
	r := &Renderer{
		maxIn:    cfg.MaxInputPixels,
		maxW:     cfg.MaxOutputWidth,
		maxH:     cfg.MaxOutputHeight,
		maxBytes: cfg.MaxOutputBytes,
		profiles: map[string]*iccProfile{},
		log:      cfg.Logger,
	}
	if r.maxIn <= 0 {
		r.maxIn = DefaultMaxInputPixels
	}
	if r.maxW <= 0 {
		r.maxW = DefaultMaxOutputWidth
	}
	if r.maxH <= 0 {
		r.maxH = DefaultMaxOutputHeight
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.rasterDPI = cmp.Or(cfg.RasterDPI, DefaultRasterDPI)
	if !(r.rasterDPI > 0 && r.rasterDPI <= MaxRasterDPI) {
		return nil, fmt.Errorf("render: raster resolution %g dpi: must be above 0 and at most %d", cfg.RasterDPI, MaxRasterDPI)
	}
	r.rasterTimeout = cmp.Or(cfg.RasterTimeout, DefaultRasterTimeout)
	r.ghostscript = cmp.Or(cfg.Ghostscript, "gs")
	arenas := cfg.MallocArenaMax
	if arenas == 0 {
		arenas = defaultArenaMax
	}
	bimg.VipsCacheSetMax(0)
	bimg.VipsCacheSetMaxMem(0)
	configureVips(cfg.Concurrency, -1, 0, 0, arenas)

	var err error
	if r.srgb, err = builtinProfile("srgb"); err != nil {
		return nil, fmt.Errorf("render: built-in sRGB profile: %w", err)
	}
	if r.cmyk, err = builtinProfile("cmyk"); err != nil {
		return nil, fmt.Errorf("render: built-in CMYK profile: %w", err)
	}
	missing, err := r.loadProfiles(cfg)
	runtime.AddCleanup(r, closeFiles, r.files)
	if err != nil {
		closeFiles(r.files)
		return nil, err
	}
	if len(missing) > 0 {
		r.log.Warn("standard icc= profiles unavailable: their profile files are not installed", "names", missing)
	}
	r.version = r.fingerprint()
	return r, nil
}

// Output is one rendered image.
type Output struct {
	Data          []byte
	Ext           string // with the dot: ".jpg"
	MIME          string
	Width, Height int
	// Warnings are the request's parse warnings plus those of this render
	// (an unknown icc= profile, an approximated palette …).
	Warnings []modifier.Warning
}

// Error kinds: test with errors.Is.
var (
	// ErrUnsupportedSource: the asset is not an image libvips can read
	// (video, fonts, archives) or cannot be decoded. The export keeps the
	// original with a warning (docs/exports.md, "Conversion").
	ErrUnsupportedSource = errors.New("source cannot be converted")
	// ErrCorruptSource: the source is in a format libvips reads, but it
	// is truncated or corrupt. The asset fails.
	ErrCorruptSource = errors.New("source image is corrupt or truncated")
	// ErrUnsupportedFormat: fmt= names a format this server does not write
	// (swf*, jpegxr*, f4m, m3u8).
	ErrUnsupportedFormat = errors.New("output format not supported")
	// ErrInputTooLarge: the source is above Config.MaxInputPixels.
	ErrInputTooLarge = errors.New("input image too large")
	// ErrOutputTooLarge: the reply is above Config.MaxOutputWidth/Height.
	ErrOutputTooLarge = errors.New("output image too large")
	// ErrOutputBytes: the encoded reply would be above Config.MaxOutputBytes.
	ErrOutputBytes = errors.New("output file too large")
	// ErrUnrenderable: the request cannot be satisfied for this image
	// (jpegSize= unreachable, an icc= profile whose type fmt= cannot hold …).
	ErrUnrenderable = errors.New("request cannot be rendered")
	// ErrInternal: libvips failed.
	ErrInternal = errors.New("render failed")
)

// Error is a failed render: Kind is one of the Err* values above.
type Error struct {
	Kind error
	Msg  string
	Err  error // the underlying cause, if any
}

func (e *Error) Error() string {
	s := "render: " + e.Kind.Error()
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// IsLimit reports a limit error (input or output bound).
func IsLimit(err error) bool {
	return errors.Is(err, ErrInputTooLarge) || errors.Is(err, ErrOutputTooLarge) || errors.Is(err, ErrOutputBytes)
}

func failf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// internal wraps a libvips failure of step.
func internal(step string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: ErrInternal, Msg: step, Err: err}
}

// Render converts src as req says: one decode and one encode (jpegSize=
// excepted, which re-encodes the finished image until it fits).
func (r *Renderer) Render(ctx context.Context, src []byte, req *modifier.Request) (*Output, error) {
	if req == nil {
		return nil, errors.New("render: nil request")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fi := req.FormatInfo()
	if !fi.Written {
		return nil, failf(ErrUnsupportedFormat, "fmt=%s is not written by this server", fi.Name)
	}

	// All libvips calls of one render run on one OS thread, so that its
	// per-thread buffers can be freed when the render ends.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer threadShutdown()
	p := &pipe{}
	defer p.release()

	j := &job{r: r, req: req, fi: fi, p: p}
	out, err := j.run(ctx, src)
	debug := r.log.Enabled(ctx, slog.LevelDebug)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if debug {
			r.log.Debug("render failed", "modifier", req.Canonical(), "err", err)
		}
		return nil, err
	}
	out.Warnings = append(append([]modifier.Warning{}, req.Warnings...), j.warnings...)
	if debug {
		r.log.Debug("rendered", "modifier", req.Canonical(), "format", fi.Name,
			"width", out.Width, "height", out.Height, "bytes", len(out.Data))
	}
	return out, nil
}

// VipsVersion is the libvips version in use.
func VipsVersion() string { return vipsVersion() }
