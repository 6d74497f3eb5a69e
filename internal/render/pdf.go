package render

import (
	"bytes"
	"fmt"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// fmt=pdf: libvips writes no PDF; fpdf does, around an image libvips
// encodes (docs/formats.md, "fmt=pdf"). One page, the size of the image at
// its print resolution, the image filling it.
//
// Compression (the fmt= third value): jpeg is DCT at qlt=; zip is Flate;
// none, the default, is written as Flate too: the pixels are the same
// (Flate is lossless) and the file is smaller. fpdf takes lossless images
// only as PNG, which holds no CMYK, so CMYK without jpeg compression is
// written as JPEG at quality 100 without chroma subsampling, with a warning.

// pdfEpoch is the creation date written into every PDF: exports of the same
// asset and modifier are then the same bytes.
var pdfEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (j *job) savePDF(x vimg, q int) ([]byte, error) {
	if x.hasAlpha() {
		return nil, failf(ErrInternal, "pdf: unexpected alpha")
	}
	cmyk := x.interp() == interpCMYK
	useJPEG := j.req.Compression == "jpeg"
	if cmyk && !useJPEG {
		useJPEG, q = true, 100
		j.warn("fmt", "fmt=pdf,cmyk is written with JPEG compression at quality 100: the PDF writer holds lossless images as PNG, which has no CMYK")
	}
	profile := x.blobField("icc-profile-data")
	var img []byte
	var err error
	imageType := "PNG"
	if useJPEG {
		imageType = "JPG"
		sub := "on"
		if j.req.Chroma || q == 100 {
			sub = "off"
		}
		img, err = j.p.save("jpegsave_buffer", x, oi("Q", q), osv("subsample_mode", sub), ob("optimize_coding", true), ob("strip", true))
	} else {
		img, err = j.p.save("pngsave_buffer", x, oi("compression", 6), osv("filter", "all"), ob("strip", true))
	}
	if err != nil {
		return nil, err
	}
	wpt, hpt := printSize(x.width(), x.height(), x.xres()*25.4)

	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: wpt, Ht: hpt}})
	pdf.SetProducer("IPS Export", false)
	pdf.SetCreationDate(pdfEpoch)
	pdf.SetModificationDate(pdfEpoch)
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	if iccBands(profile) == 3 {
		// iccEmbed=1: the profile is the document's output intent. fpdf
		// writes output intents as three-component profiles only, so a
		// gray or CMYK profile cannot be embedded (a warning below).
		_, desc, _ := iccInfo(profile)
		pdf.AddOutputIntent(fpdf.OutputIntentType{SubtypeIdent: fpdf.OutputIntent_GTS_PDFA1,
			OutputConditionIdentifier: desc, Info: desc, ICCProfile: profile})
	} else if profile != nil {
		j.warn("iccEmbed", "fmt=pdf embeds RGB profiles only; this gray or CMYK output profile is not embedded")
	}
	pdf.AddPage()
	opts := fpdf.ImageOptions{ImageType: imageType}
	pdf.RegisterImageOptionsReader("image", opts, bytes.NewReader(img))
	pdf.ImageOptions("image", 0, 0, wpt, hpt, false, opts, 0, "")
	var out bytes.Buffer
	if err := pdf.Output(&out); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return out.Bytes(), nil
}
