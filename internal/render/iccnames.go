package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultICCDir is where Debian's icc-profiles-free and Ghostscript
// (libgs-common, under ghostscript/) install their profiles.
const DefaultICCDir = "/usr/share/color/icc"

// How close the profile behind a standard name is to Adobe's (docs/formats.md).
const (
	iccExact       = "exact"       // the same profile
	iccEquivalent  = "equivalent"  // built from the same published definition
	iccClose       = "close"       // the same printing condition family (SWOP)
	iccApproximate = "approximate" // another coated offset condition: similar tones, a different gamut and ink limit
	iccStandIn     = "stand-in"    // another paper class: register the exact profile
)

// standardICC is one of the standard profiles Image Serving names in icc=
// (docs/formats.md, "ICC profile names"): the identifiers and the common
// name that select it, and the profile this server uses for it.
type standardICC struct {
	names     []string // identifier first, then other spellings and the common name
	pixelType string
	file      string    // a profile file under the ICC directory, or
	space     *rgbSpace // a matrix profile built from the published definition, or
	builtin   string    // a libvips built-in ("srgb")
	closeness string
	used      string // the profile used, for the README
}

// artifexSWOP is Ghostscript's default CMYK output profile, a SWOP (US web
// coated offset) characterisation that libvips can write to.
const artifexSWOP = "ghostscript/default_cmyk.icc"

func cmykStandard(closeness string, names ...string) standardICC {
	return standardICC{names: names, pixelType: "cmyk", file: artifexSWOP, closeness: closeness,
		used: "Ghostscript's Artifex CMYK SWOP (`" + artifexSWOP + "`)"}
}

func rgbStandard(s rgbSpace, names ...string) standardICC {
	return standardICC{names: names, pixelType: "rgb", space: &s, closeness: iccEquivalent,
		used: "built in: " + s.desc + " from its published primaries, white point and gamma"}
}

// standardICCs lists every standard profile of the reference's table, in
// its order. Read-only.
var standardICCs = []standardICC{
	{names: []string{"AdobeRGB", "Adobe RGB (1998)"}, pixelType: "rgb", file: "compatibleWithAdobeRGB1998.icc",
		closeness: iccEquivalent, used: "icc-profiles-free's Compatible with Adobe RGB (1998) (`compatibleWithAdobeRGB1998.icc`)"},
	rgbStandard(rgbSpace{desc: "Apple RGB", white: whiteD65, r: [2]float64{0.625, 0.340}, g: [2]float64{0.280, 0.595}, b: [2]float64{0.155, 0.070}, gammaU8Fixed8: gamma18},
		"AppleRGB", "Apple RGB"),
	rgbStandard(rgbSpace{desc: "CIE RGB", white: whiteE, r: [2]float64{0.735, 0.265}, g: [2]float64{0.274, 0.717}, b: [2]float64{0.167, 0.009}, gammaU8Fixed8: gamma22},
		"CIERGB", "CIE RGB"),
	rgbStandard(rgbSpace{desc: "ColorMatch RGB", white: whiteD50, r: [2]float64{0.630, 0.340}, g: [2]float64{0.295, 0.605}, b: [2]float64{0.150, 0.075}, gammaU8Fixed8: gamma18},
		"ColorMatchRGB", "ColorMatch RGB"),
	rgbStandard(rgbSpace{desc: "NTSC (1953)", white: whiteC, r: [2]float64{0.67, 0.33}, g: [2]float64{0.21, 0.71}, b: [2]float64{0.14, 0.08}, gammaU8Fixed8: gamma22},
		"NTSC", "NTSC (1953)"),
	rgbStandard(rgbSpace{desc: "PAL/SECAM", white: whiteD65, r: [2]float64{0.64, 0.33}, g: [2]float64{0.29, 0.60}, b: [2]float64{0.15, 0.06}, gammaU8Fixed8: gamma22},
		"PAL", "PAL/SECAM"),
	rgbStandard(rgbSpace{desc: "ProPhoto RGB", white: whiteD50, r: [2]float64{0.7347, 0.2653}, g: [2]float64{0.1596, 0.8404}, b: [2]float64{0.0366, 0.0001}, gammaU8Fixed8: gamma18},
		"ProPhoto", "ProPhoto RGB"),
	rgbStandard(rgbSpace{desc: "SMPTE-C", white: whiteD65, r: [2]float64{0.630, 0.340}, g: [2]float64{0.310, 0.595}, b: [2]float64{0.155, 0.070}, gammaU8Fixed8: gamma22},
		"SMPTE", "SMPTE-C"),
	{names: []string{"sRGB", "sRGB IEC61966-2.1"}, pixelType: "rgb", builtin: "srgb", closeness: iccExact,
		used: "libvips' built-in sRGB IEC61966-2.1 (the same profile as icc-profiles-free's `sRGB.icc`)"},
	rgbStandard(rgbSpace{desc: "Wide Gamut RGB", white: whiteD50, r: [2]float64{0.735, 0.265}, g: [2]float64{0.115, 0.826}, b: [2]float64{0.157, 0.018}, gammaU8Fixed8: gamma22},
		"WideGamutRGB", "Wide Gamut RGB"),

	cmykStandard(iccApproximate, "CoatedFogra27", "Coated FOGRA27 (ISO 12647-2:2004)"),
	cmykStandard(iccApproximate, "CoatedFogra39", "Coated FOGRA39 (ISO 12647-2:2004)"),
	cmykStandard(iccApproximate, "CoatedGraCol", "Coated GRACoL 2006 (ISO 12647-2:2004)"),
	cmykStandard(iccApproximate, "EuropeISOCoated", "Europe ISO Coated FOGRA27"),
	cmykStandard(iccApproximate, "EuroscaleCoated", "Euroscale Coated v2", "Euroscale Coated"),
	cmykStandard(iccStandIn, "EuroscaleUncoated", "Euroscale Uncoated v2"),
	cmykStandard(iccApproximate, "JapanColorCoated", "Japan Color 2001 Coated"),
	cmykStandard(iccStandIn, "JapanColorNewspaper", "Japan Color 2002 Newspaper"),
	cmykStandard(iccStandIn, "JapanColorUncoated", "Japan Color 2001 Uncoated"),
	cmykStandard(iccApproximate, "JapanColorWebCoated", "Japan Color 2003 Web Coated"),
	cmykStandard(iccApproximate, "JapanWebCoated", "Japan Web Coated (Ad)"),
	cmykStandard(iccStandIn, "NewsprintSNAP2007", "US Newsprint (SNAP 2007)"),
	cmykStandard(iccClose, "PS4Default", "Photoshop 4 Default CMYK"),
	cmykStandard(iccClose, "PS5Default", "Photoshop 5 Default CMYK"),
	cmykStandard(iccApproximate, "SheetfedCoated", "U.S. Sheetfed Coated v2"),
	cmykStandard(iccStandIn, "SheetfedUncoated", "U.S. Sheetfed Uncoated v2"),
	cmykStandard(iccStandIn, "UncoatedFogra29", "Uncoated FOGRA29 (ISO 12647-2:2004)"),
	cmykStandard(iccClose, "WebCoated", "U.S. Web Coated (SWOP) v2"),
	cmykStandard(iccApproximate, "WebCoatedFogra28", "Web Coated FOGRA28 (ISO 12647-2:2004)"),
	cmykStandard(iccClose, "WebCoatedGrade3", "Web Coated SWOP 2006 Grade 3 Paper"),
	cmykStandard(iccClose, "WebCoatedGrade5", "Web Coated SWOP 2006 Grade 5 Paper", "Web Coated SWOP Grade 5 Paper"),
	cmykStandard(iccStandIn, "WebUncoated", "U.S. Web Uncoated v2"),
}

// profileKey is how icc= names are matched: case-insensitively, runs of
// spaces as one (common names arrive as "Coated%20FOGRA39%20(…)").
func profileKey(name string) string {
	return strings.Join(strings.Fields(strings.ToLower(name)), " ")
}

// profile is the output profile icc=name selects, or nil.
func (r *Renderer) profile(name string) *iccProfile {
	return r.profiles[profileKey(name)]
}

// loadProfiles builds the icc= registry: libvips' sRGB, the standard
// names from the ICC directory, then the registered profiles (paths and
// bytes), which replace a standard profile under every one of its names.
// It returns the standard names that are not available (a profile file
// missing), which stay unknown names.
func (r *Renderer) loadProfiles(cfg Config) (missing []string, err error) {
	dir := cfg.ICCDir
	if dir == "" {
		dir = DefaultICCDir
	}
	group := map[string]int{} // key → index in standardICCs
	for i, s := range standardICCs {
		var p *iccProfile
		switch {
		case s.builtin == "srgb":
			p = &iccProfile{name: s.names[0], builtin: "srgb", path: "srgb", data: r.srgb, pixelType: "rgb"}
		case s.space != nil:
			if p, err = r.bytesProfile(s.names[0], matrixProfile(*s.space)); err != nil {
				return nil, fmt.Errorf("render: %w", err)
			}
		default:
			p, err = loadProfile(s.names[0], filepath.Join(dir, s.file))
			if errors.Is(err, fs.ErrNotExist) {
				missing = append(missing, s.names[0])
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("render: %w", err)
			}
		}
		for _, n := range s.names {
			r.profiles[profileKey(n)] = p
			group[profileKey(n)] = i
		}
	}
	register := func(name string, p *iccProfile) {
		k := profileKey(name)
		if i, ok := group[k]; ok {
			for _, n := range standardICCs[i].names {
				r.profiles[profileKey(n)] = p
			}
			return
		}
		r.profiles[k] = p
	}
	for name, path := range cfg.ICCProfiles {
		if err := checkProfileName(name); err != nil {
			return nil, err
		}
		p, err := loadProfile(name, path)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		register(name, p)
	}
	for name, data := range cfg.ICCProfileData {
		if err := checkProfileName(name); err != nil {
			return nil, err
		}
		p, err := r.bytesProfile(name, data)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		register(name, p)
	}
	return missing, nil
}

func checkProfileName(name string) error {
	if strings.TrimSpace(name) == "" || strings.Contains(name, ",") {
		return fmt.Errorf("render: icc profile name %q: may not be empty or hold ','", name)
	}
	return nil
}

// bytesProfile registers a profile held in memory. libvips loads output
// profiles from files only, so the bytes go into an anonymous in-memory
// file (memfd) that lives as long as the Renderer.
func (r *Renderer) bytesProfile(name string, data []byte) (*iccProfile, error) {
	pt, _, err := iccInfo(data)
	if err != nil {
		return nil, fmt.Errorf("icc profile %q: %w", name, err)
	}
	f, err := memFile("icc-"+name, data)
	if err != nil {
		return nil, fmt.Errorf("icc profile %q: %w", name, err)
	}
	r.files = append(r.files, f)
	return &iccProfile{name: name, path: "/proc/self/fd/" + fmt.Sprint(f.Fd()), data: data, pixelType: pt}, nil
}

// closeFiles closes the Renderer's in-memory profile files.
func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
