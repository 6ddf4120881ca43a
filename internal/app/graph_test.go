package app

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTextGraph pins the tree of `salesdag graph`: every node once, under
// its last dependency, the others named; --outputs marks the path.
func TestTextGraph(t *testing.T) {
	d, err := Build()
	require.NoError(t, err)
	cases := []struct {
		view GraphView
		want string
	}{
		{GraphView{Upstream: "data_quality_metrics"}, `source, options (inputs)
└─ raw_sales_data              *pipeline.RawSales
   └─ cleaned_sales_data       *pipeline.Sales
      └─ data_quality_metrics  pipeline.QualityMetrics  (also uses raw_sales_data)
`},
		{GraphView{Downstream: "enriched_daily_summary", Outputs: []string{"trend_analysis"}}, `* enriched_daily_summary  *pipeline.EnrichedSummary
  ├─ weekly_aggregation   *pipeline.WeeklyAggregation
* ├─ trend_analysis       pipeline.TrendAnalysis
  └─ top_performing_days  []pipeline.TopDay
(* = on the execution path of the requested outputs)
`},
	}
	for _, tc := range cases {
		var b bytes.Buffer
		require.NoError(t, RenderGraph(&b, d, "text", tc.view))
		require.Equal(t, tc.want, b.String(), "%+v", tc.view)
	}
}

// TestREADMEShowsTheTextGraph: the README's picture of the pipeline is
// exactly what `salesdag graph` prints.
func TestREADMEShowsTheTextGraph(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(readme), "## The pipeline\n")
	require.True(t, ok, "README has a section \"## The pipeline\"")
	_, after, ok = strings.Cut(after, "$ salesdag graph\n")
	require.True(t, ok, "the section shows `$ salesdag graph`")
	block, _, ok := strings.Cut(after, "```")
	require.True(t, ok)
	d, err := Build()
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, RenderGraph(&b, d, "text", GraphView{}))
	require.Equal(t, b.String(), block, "README.md, \"The pipeline\": paste the output of `salesdag graph`")
}

// TestDotRendersWell renders `graph --format dot` with Graphviz: no literal
// "\n" in a label (each label is two text lines: name, type) and a picture
// that is not a strip.
func TestDotRendersWell(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Graphviz dot is required in CI (.ci/run installs it)")
		}
		t.Skip("Graphviz dot not installed")
	}
	d, err := Build()
	require.NoError(t, err)
	for _, view := range []GraphView{{}, {Outputs: []string{"weekly_aggregation"}}, {Upstream: "trend_analysis"}} {
		var src bytes.Buffer
		require.NoError(t, RenderGraph(&src, d, "dot", view))
		cmd := exec.Command(dot, "-Tsvg")
		cmd.Stdin = &src
		var svg, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &svg, &errb
		require.NoError(t, cmd.Run(), errb.String())
		require.Empty(t, errb.String(), "dot must not warn")
		texts := map[string]bool{}
		for _, m := range regexp.MustCompile(`<text[^>]*>([^<]*)</text>`).FindAllStringSubmatch(svg.String(), -1) {
			texts[m[1]] = true
		}
		require.NotEmpty(t, texts)
		for text := range texts {
			require.NotContains(t, text, `\n`, "a label shows a literal \\n")
		}
		require.True(t, texts["raw_sales_data"], "the name is a line of its own: %v", texts)
		require.True(t, texts["*pipeline.RawSales"], "the type is a line of its own: %v", texts)
		m := regexp.MustCompile(`<svg width="(\d+)pt" height="(\d+)pt"`).FindStringSubmatch(svg.String())
		require.NotNil(t, m)
		w, _ := strconv.Atoi(m[1])
		h, _ := strconv.Atoi(m[2])
		require.Less(t, w, 2*h, "%+v: a %dx%d picture is a strip", view, w, h)
	}
}
