package render

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2non/bimg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// bombPNG is a valid PNG header claiming w×h gray pixels, with almost no
// data: a decoder that allocated first would need w×h bytes.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit gray
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func TestInputLimit(t *testing.T) {
	req, err := modifier.Parse("wid=100", nil)
	require.NoError(t, err)

	t.Run("decompression bomb, default limit", func(t *testing.T) {
		start := time.Now()
		_, err := newTestRenderer(t).Render(context.Background(), bombPNG(50000, 50000), req)
		require.ErrorIs(t, err, ErrInputTooLarge)
		assert.True(t, IsLimit(err))
		assert.Contains(t, err.Error(), "2500.0 megapixels")
		assert.Contains(t, err.Error(), "limit of 100.0")
		assert.Less(t, time.Since(start), time.Second, "refused from the header")
	})
	t.Run("configured limit", func(t *testing.T) {
		small, err := New(Config{MaxInputPixels: 10_000})
		require.NoError(t, err)
		_, err = small.Render(context.Background(), quadrantsPNG(t), req) // 20,000 px
		require.ErrorIs(t, err, ErrInputTooLarge)
		_, err = small.Render(context.Background(), solidPNG(t, 100, 100, 1, 2, 3), req)
		require.NoError(t, err, "exactly at the limit")
	})
}

func TestOutputLimit(t *testing.T) {
	src := quadrantsPNG(t)
	err := renderErr(t, src, "wid=20000")
	require.ErrorIs(t, err, ErrOutputTooLarge)
	assert.True(t, IsLimit(err))
	assert.Contains(t, err.Error(), "20000×10000")
	assert.Contains(t, err.Error(), "16384×16384")

	// rect= delivers tiles of a view larger than the limit (r-rect.md).
	res := renderOK(t, src, "fmt=png&scl=0.01&rect=0,0,500,400")
	assert.Equal(t, 500, res.decoded.Width)
	near(t, res.decoded, 10, 10, red, 0)

	small, err := New(Config{MaxOutputWidth: 100, MaxOutputHeight: 60})
	require.NoError(t, err)
	for mod, ok := range map[string]bool{"wid=100": true, "wid=101": false, "hei=60": false, "wid=100&hei=60": true, "": false} {
		req, perr := modifier.Parse(mod, nil)
		require.NoError(t, perr)
		_, err := small.Render(context.Background(), src, req)
		if ok {
			assert.NoError(t, err, mod)
		} else {
			assert.ErrorIs(t, err, ErrOutputTooLarge, mod)
		}
	}
	// Intermediate sizes beyond what libvips addresses are refused too.
	assert.ErrorIs(t, renderErr(t, src, "scl=0.000001&rect=0,0,10,10"), ErrOutputTooLarge)
	assert.ErrorIs(t, renderErr(t, src, "scale=1000000"), ErrOutputTooLarge)
	assert.ErrorIs(t, renderErr(t, src, "extend=0,0,16777216,0"), ErrOutputTooLarge)
	// op_colorize holds the composite in memory: bounded too.
	assert.ErrorIs(t, renderErr(t, src, "scale=200&op_colorize=ff0000&wid=100"), ErrOutputTooLarge)
}

func TestErrorKinds(t *testing.T) {
	err := &Error{Kind: ErrInternal, Msg: "resize", Err: errors.New("boom")}
	assert.ErrorIs(t, err, ErrInternal)
	assert.False(t, errors.Is(err, ErrUnsupportedSource))
	assert.Equal(t, "render: render failed: resize: boom", err.Error())
	assert.ErrorIs(t, renderErr(t, quadrantsPNG(t), "extend=-100,0,-100,0"), ErrUnrenderable)
}

func TestContext(t *testing.T) {
	src := quadrantsPNG(t)
	req, err := modifier.Parse("fmt=png", nil)
	require.NoError(t, err)
	r := newTestRenderer(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Render(ctx, src, req)
	assert.ErrorIs(t, err, context.Canceled)

	// A render already running is abandoned when the context ends.
	big := solidPNG(t, 3000, 3000, 10, 20, 30)
	slow, err := modifier.Parse("op_blur=60&op_usmR=5,60,0,0&fmt=png", nil)
	require.NoError(t, err)
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r.Render(ctx, big, slow)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestConcurrentRenders(t *testing.T) {
	srcs := [][]byte{quadrantsPNG(t), quadrantsJPEG(t, 400, 200), alphaPNG(t)}
	mods := []string{"wid=50&fmt=webp", "fmt=png-alpha&rotate=30", "wid=80&hei=80&fmt=jpeg&op_usm=1,1,0,0", "fmt=tif,cmyk,lzw&wid=60"}
	r := newTestRenderer(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 12; i++ {
				req, err := modifier.Parse(mods[(g+i)%len(mods)], nil)
				if err != nil {
					errs <- err
					return
				}
				out, err := r.Render(context.Background(), srcs[(g*i)%len(srcs)], req)
				if err != nil {
					errs <- err
					return
				}
				if len(out.Data) == 0 {
					errs <- errors.New("empty output")
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNoMemoryGrowth renders thousands of assets and checks that libvips'
// tracked memory and allocations return to where they were, and that the
// process RSS levels off.
func TestNoMemoryGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of renders")
	}
	r := newTestRenderer(t)
	srcs := [][]byte{solidPNG(t, 96, 64, 1, 2, 3), quadrantsJPEG(t, 120, 80), alphaPNG(t)}
	mods := []string{"wid=40&fmt=webp", "wid=50&hei=50&op_usm=1,1,0,0", "fmt=gif&quantize=adaptive,diffuse,16",
		"jpegSize=2", "fmt=png-alpha&crop=-5,-5,80,80&opac=50", "wid=30&fmt=jpeg2000", "fmt=avif&wid=20",
		"fmt=png8-alpha&bgColor=ff000080", "op_brightness=5&op_saturation=20&fmt=png"}
	// The slow kinds (an lcms transform to CMYK, an affine rotation,
	// colorize's statistics) every 50th render.
	slow := []string{"fmt=png-alpha&rotate=15", "fmt=tif,cmyk,lzw&iccEmbed=1", "op_colorize=ff8800&op_noise=10&op_hue=20"}
	parse := func(ms []string) []*modifier.Request {
		out := make([]*modifier.Request, len(ms))
		for i, m := range ms {
			var err error
			out[i], err = modifier.Parse(m, nil)
			require.NoError(t, err)
		}
		return out
	}
	reqs, slowReqs := parse(mods), parse(slow)
	run := func(n int) {
		for i := 0; i < n; i++ {
			req := reqs[i%len(reqs)]
			if i%50 == 0 {
				req = slowReqs[(i/50)%len(slowReqs)]
			}
			_, err := r.Render(context.Background(), srcs[i%len(srcs)], req)
			if err != nil && !errors.Is(err, ErrUnrenderable) {
				require.NoError(t, err)
			}
		}
	}
	run(200) // warm up: libvips types, thread pools, malloc arenas
	before := settledVipsMemory()
	rss0 := rssBytes(t)
	run(2000)
	after := settledVipsMemory()
	rss1 := rssBytes(t)
	assert.LessOrEqual(t, after.Allocations, before.Allocations+2, "libvips allocations leak")
	assert.LessOrEqual(t, after.Memory, before.Memory+1<<20, "libvips tracked memory grows")
	t.Logf("RSS %d MB → %d MB over 2000 renders; libvips allocs %d → %d", rss0>>20, rss1>>20, before.Allocations, after.Allocations)
	assert.Less(t, rss1-rss0, int64(40<<20), "RSS grows")
}

// settledVipsMemory reads libvips' tracked memory once its background
// threads have let go of their buffers: a single reading sometimes catches
// a few dozen allocations of a worker thread that is just ending (seen as
// 37 → 0 as often as 0 → 37), so it takes the least of readings over a
// short while.
func settledVipsMemory() bimg.VipsMemoryInfo {
	least := bimg.VipsMemory()
	for i := 0; i < 25 && least.Allocations > 0; i++ {
		time.Sleep(20 * time.Millisecond)
		if m := bimg.VipsMemory(); m.Allocations < least.Allocations {
			least = m
		}
	}
	return least
}

func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// An uncompressed TIFF whose size is over MaxOutputBytes is refused from
// its dimensions, before a pixel is computed; a compressed one, whose size
// is known only once written, and a smaller one are rendered.
func TestOutputBytesLimit(t *testing.T) {
	r, err := New(Config{MaxOutputBytes: 1 << 20})
	require.NoError(t, err)
	src := quadrantsJPEG(t, 200, 100)
	render := func(mod string) (*Output, error) {
		req, err := modifier.Parse(mod, nil)
		require.NoError(t, err)
		return r.Render(context.Background(), src, req)
	}
	_, err = render("wid=8192&hei=8192&fit=stretch,1&fmt=tif")
	require.ErrorIs(t, err, ErrOutputBytes)
	assert.True(t, IsLimit(err))
	assert.Contains(t, err.Error(), "8192×8192 pixels × 3 bands × 1-byte samples is 201326592 bytes (192.0 MiB)")
	assert.Contains(t, err.Error(), "above the limit of 1048576 bytes (1.0 MiB)")

	_, err = render("wid=600&hei=600&fit=stretch,1&fmt=tif-alpha")
	require.ErrorIs(t, err, ErrOutputBytes, "4 bands: 1.4 MB")
	out, err := render("wid=500&hei=500&fit=stretch,1&fmt=tif")
	require.NoError(t, err, "3 bands: 750 KB")
	assert.Less(t, len(out.Data), 1<<20)
	out, err = render("wid=2000&hei=2000&fit=stretch,1&fmt=tif,,lzw")
	require.NoError(t, err, "compressed: the caller checks the written size")
	assert.Less(t, len(out.Data), 1<<20)
}
