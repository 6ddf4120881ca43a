package cli

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/app"
)

// TestTextGraph pins the tree of `salesdag graph`: every node once, under
// its last dependency, the others named; --outputs marks the path.
func TestTextGraph(t *testing.T) {
	d, err := app.Build()
	require.NoError(t, err)
	cases := []struct {
		view graphView
		want string
	}{
		{graphView{Upstream: "data_quality_metrics"}, `source, options (inputs)
└─ raw_sales_data              *pipeline.RawSales
   └─ cleaned_sales_data       *pipeline.Sales
      └─ data_quality_metrics  pipeline.QualityMetrics  (also uses raw_sales_data)
`},
		{graphView{Downstream: "enriched_daily_summary", Outputs: []string{"trend_analysis"}}, `* enriched_daily_summary  *pipeline.EnrichedSummary
  ├─ weekly_aggregation   *pipeline.WeeklyAggregation
* ├─ trend_analysis       pipeline.TrendAnalysis
  └─ top_performing_days  []pipeline.TopDay
(* = on the execution path of the requested outputs)
`},
	}
	for _, tc := range cases {
		var b bytes.Buffer
		require.NoError(t, renderGraph(&b, d, "text", tc.view))
		require.Equal(t, tc.want, b.String(), "%+v", tc.view)
	}
}

// TestREADMEShowsTheTextGraph: the README's picture of the pipeline is
// exactly what `salesdag graph` prints.
func TestREADMEShowsTheTextGraph(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(readme), "## The pipeline\n")
	require.True(t, ok, "README has a section \"## The pipeline\"")
	_, after, ok = strings.Cut(after, "$ salesdag graph\n")
	require.True(t, ok, "the section shows `$ salesdag graph`")
	block, _, ok := strings.Cut(after, "```")
	require.True(t, ok)
	d, err := app.Build()
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, renderGraph(&b, d, "text", graphView{}))
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
	d, err := app.Build()
	require.NoError(t, err)
	for _, view := range []graphView{{}, {Outputs: []string{"weekly_aggregation"}}, {Upstream: "trend_analysis"}} {
		var src bytes.Buffer
		require.NoError(t, renderGraph(&src, d, "dot", view))
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

func TestRenderGraph(t *testing.T) {
	d, err := app.Build()
	require.NoError(t, err)
	cases := []struct {
		format string
		view   graphView
		want   []string
		not    []string
	}{
		{"text", graphView{}, []string{"source, options (inputs)\n└─ raw_sales_data ", "   └─ cleaned_sales_data ", "(also uses raw_sales_data)"}, []string{"* "}},
		{"text", graphView{Outputs: []string{"trend_analysis"}}, []string{"├─ trend_analysis", "* └─ raw_sales_data", "\n  ", "weekly_aggregation"}, nil},
		{"dot", graphView{Outputs: []string{"weekly_aggregation"}}, []string{"digraph salesdag", `"enriched_daily_summary" -> "weekly_aggregation" [penwidth=2`}, nil},
		{"mermaid", graphView{Outputs: []string{"top_performing_days"}}, []string{"graph LR", "daily_sales_summary --> enriched_daily_summary", "class ", "onpath"}, nil},
		{"text", graphView{Upstream: "daily_sales_summary"}, []string{"cleaned_sales_data", "source"}, []string{"trend_analysis", "data_quality_metrics"}},
		{"mermaid", graphView{Downstream: "enriched_daily_summary"}, []string{"weekly_aggregation", "trend_analysis"}, []string{"raw_sales_data", "classDef"}},
	}
	for _, tc := range cases {
		var b bytes.Buffer
		require.NoError(t, renderGraph(&b, d, tc.format, tc.view))
		for _, w := range tc.want {
			require.Contains(t, b.String(), w, "%s %+v", tc.format, tc.view)
		}
		for _, n := range tc.not {
			require.NotContains(t, b.String(), n, "%s %+v", tc.format, tc.view)
		}
	}
	require.Error(t, renderGraph(&bytes.Buffer{}, d, "svg", graphView{}))
	require.Error(t, renderGraph(&bytes.Buffer{}, d, "text", graphView{Upstream: "nope"}))
	require.Error(t, renderGraph(&bytes.Buffer{}, d, "text", graphView{Downstream: "nope"}))
	require.Error(t, renderGraph(&bytes.Buffer{}, d, "text", graphView{Outputs: []string{"nope"}}))
}

func TestDescribeNodes(t *testing.T) {
	d, err := app.Build()
	require.NoError(t, err)
	infos := describeNodes(d)
	require.Len(t, infos, 10)
	byName := map[string]nodeInfo{}
	for _, n := range infos {
		byName[n.Name] = n
		require.NotEmpty(t, n.Doc, n.Name)
	}
	require.Equal(t, []string{"raw_sales_data", "cleaned_sales_data"}, byName["data_quality_metrics"].Deps)
	require.True(t, byName["source"].Input)
	require.Equal(t, "*pipeline.RawSales", byName["raw_sales_data"].Type)
	require.ElementsMatch(t, []string{"weekly_aggregation", "trend_analysis", "top_performing_days"}, byName["enriched_daily_summary"].Dependents)
}
