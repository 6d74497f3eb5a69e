package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

func TestPlanView(t *testing.T) {
	// A 200×100 composite throughout.
	tests := []struct {
		name     string
		modifier string
		w, h     int // view size
		cw, ch   int // scaled composite
		ox, oy   int // its placement
	}{
		{"no size: full size (no DefaultPix)", "", 200, 100, 200, 100, 0, 0},
		{"wid only keeps the aspect", "wid=100", 100, 50, 100, 50, 0, 0},
		{"hei only keeps the aspect", "hei=50", 100, 50, 100, 50, 0, 0},
		{"wid only enlarges", "wid=400", 400, 200, 400, 200, 0, 0},
		{"free side rounds half up", "wid=3", 3, 2, 3, 2, 0, 0},
		{"wid+hei fit inside, centred", "wid=100&hei=100", 100, 100, 100, 50, 0, 25},
		{"align top-left", "wid=100&hei=100&align=-1,-1", 100, 100, 100, 50, 0, 0},
		{"align bottom-right", "wid=100&hei=100&align=1,1", 100, 100, 100, 50, 0, 50},
		{"wid+hei without fit enlarges", "wid=800&hei=800", 800, 800, 800, 400, 0, 200},
		{"fit=fit,0 does not enlarge", "wid=800&hei=800&fit=fit", 800, 800, 200, 100, 300, 350},
		{"fit=fit,1 enlarges", "wid=800&hei=800&fit=fit,1", 800, 800, 800, 400, 0, 200},
		{"fit=constrain returns the image size", "wid=100&hei=100&fit=constrain", 100, 50, 100, 50, 0, 0},
		{"fit=crop fills and crops, centred", "wid=100&hei=100&fit=crop", 100, 100, 200, 100, -50, 0},
		{"fit=crop aligned left", "wid=100&hei=100&fit=crop&align=-1,0", 100, 100, 200, 100, 0, 0},
		{"fit=wrap covers", "wid=100&hei=100&fit=wrap", 200, 100, 200, 100, 0, 0},
		{"fit=stretch", "wid=100&hei=100&fit=stretch", 100, 100, 100, 100, 0, 0},
		{"fit=hfit", "wid=100&hei=100&fit=hfit", 100, 100, 100, 50, 0, 25},
		{"fit=vfit crops horizontally", "wid=100&hei=50&fit=vfit&align=1,0", 100, 50, 100, 50, 0, 0},
		{"fit=vfit", "wid=50&hei=50&fit=vfit", 50, 50, 100, 50, -25, 0},
		{"scl scales", "scl=2", 100, 50, 100, 50, 0, 0},
		{"scl below 1 enlarges", "scl=0.5", 400, 200, 400, 200, 0, 0},
		{"scl with wid crops", "scl=1&wid=100", 100, 100, 200, 100, -50, 0},
		{"scl with wid+hei pads", "scl=1&wid=300&hei=300&align=-1,-1", 300, 300, 200, 100, 0, 0},
		{"rgn at 1:1", "rgn=10,20,30,40", 30, 40, 200, 100, -10, -20},
		{"rgn scaled to wid", "rgn=50,0,100,100&wid=50", 50, 50, 100, 50, -25, 0},
		{"rgn shows neighbours when the view is wider", "rgn=50,25,50,50&wid=100&hei=50", 100, 50, 200, 100, -25, -25},
		{"dpr multiplies wid and hei", "wid=50&hei=50&dpr=on,2", 100, 100, 100, 50, 0, 25},
		{"dpr off", "wid=50&dpr=off", 50, 25, 50, 25, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := modifier.Parse(tc.modifier, nil)
			require.NoError(t, err)
			p, err := planView(200, 100, r)
			require.NoError(t, err)
			assert.Equal(t, [2]int{tc.w, tc.h}, [2]int{p.w, p.h}, "view size")
			assert.Equal(t, [2]int{tc.cw, tc.ch}, [2]int{p.cw, p.ch}, "scaled composite")
			assert.Equal(t, [2]int{tc.ox, tc.oy}, [2]int{p.ox, p.oy}, "placement")
		})
	}
	t.Run("DefaultPix bounds a view with no size", func(t *testing.T) {
		for _, tc := range []struct {
			pix, modifier string
			w, h          int
		}{
			{"100,100", "", 100, 50},        // fits inside, no padding
			{"0,20", "", 40, 20},            // one side free
			{"800,600", "", 200, 100},       // never enlarges
			{"100,100", "wid=150", 150, 75}, // wid= given: DefaultPix does not apply
			{"100,100", "scl=1", 200, 100},
		} {
			r, err := modifier.Parse(tc.modifier, nil)
			require.NoError(t, err)
			require.NoError(t, r.ApplyDefaults(modifier.Defaults{DefaultPix: tc.pix}))
			p, err := planView(200, 100, r)
			require.NoError(t, err)
			assert.Equal(t, [2]int{tc.w, tc.h}, [2]int{p.w, p.h}, "%s %s", tc.pix, tc.modifier)
			assert.Equal(t, [2]int{tc.w, tc.h}, [2]int{p.cw, p.ch}, "%s %s", tc.pix, tc.modifier)
		}
	})
	t.Run("absurd enlargement is refused", func(t *testing.T) {
		r, err := modifier.Parse("scl=0.00001", nil)
		require.NoError(t, err)
		_, err = planView(200, 100, r)
		require.Error(t, err)
	})
}
