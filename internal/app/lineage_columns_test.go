package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/columns"
	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
	"github.com/salesdag/salesdag/internal/output"
	"github.com/salesdag/salesdag/internal/pipeline"
)

var updateColumnGolden = flag.Bool("update-columns", false, "rewrite testdata/column_lineage.json")

func colValidator(t *testing.T) *lineagetest.Validator {
	t.Helper()
	v, err := lineagetest.New()
	require.NoError(t, err)
	return v
}

var testInput = DatasetRef{Namespace: lineage.FileNamespace, Name: "/data/sales.csv"}

func TestInputDatasetRef(t *testing.T) {
	ref, err := InputDatasetRef(pipeline.SampleSource())
	require.NoError(t, err)
	require.Equal(t, DatasetRef{Namespace: sampleNamespace, Name: sampleName}, ref)

	path := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, os.WriteFile(path, []byte("date,product_id,amount,customer_id\n"), 0o644))
	src, err := pipeline.FileSource(path)
	require.NoError(t, err)
	ref, err = InputDatasetRef(src)
	require.NoError(t, err)
	want, err := lineage.FileDatasetName(path)
	require.NoError(t, err)
	require.Equal(t, DatasetRef{Namespace: "file", Name: want}, ref)
}

// TestColumnLineageFacetsValid builds the facet of every node and checks
// it against ColumnLineageDatasetFacet.json; the whole set is pinned in a
// golden file (go test -update-columns rewrites it).
func TestColumnLineageFacetsValid(t *testing.T) {
	cat, err := pipeline.Columns()
	require.NoError(t, err)
	v := colValidator(t)
	inputs := map[string]DatasetRef{pipeline.InputSource: testInput}
	all := map[string]*lineage.ColumnLineageDatasetFacet{}
	for _, n := range declaredNodes(t, cat) {
		f, err := ColumnLineageFacet(cat, n.Name, inputs, nil)
		require.NoError(t, err, n.Name)
		require.Len(t, f.Fields, len(n.Fields), n.Name)
		require.NoError(t, v.ValidateFacet(lineagetest.DatasetFacet, "columnLineage", f), n.Name)
		for field, l := range f.Fields {
			require.NotEmpty(t, l.InputFields, "%s.%s", n.Name, field)
			for _, in := range l.InputFields {
				require.Equal(t, testInput.Namespace, in.Namespace)
				require.Equal(t, testInput.Name, in.Name)
				require.Contains(t, pipeline.ColumnNames, in.Field)
			}
		}
		all[n.Name] = f
	}
	got, err := json.MarshalIndent(all, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "column_lineage.json")
	if *updateColumnGolden {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(got))
}

func TestWeeklyTotalFacet(t *testing.T) {
	cat, err := pipeline.Columns()
	require.NoError(t, err)
	f, err := ColumnLineageFacet(cat, pipeline.NodeWeekly, map[string]DatasetRef{pipeline.InputSource: testInput}, nil)
	require.NoError(t, err)
	byField := map[string]lineage.InputField{}
	for _, in := range f.Fields["weekly_total"].InputFields {
		byField[in.Field] = in
	}
	require.Len(t, byField, 4)
	require.Equal(t, []lineage.Transformation{
		{Type: "DIRECT", Subtype: "AGGREGATION", Description: "raw_sales_data: parsed as a decimal number -> daily_sales_summary: sum of amount per date, rounded to 2 -> weekly_aggregation: sum of total_amount per week, rounded to 2"},
		{Type: "INDIRECT", Subtype: "FILTER", Description: "raw_sales_data: rows that do not parse are set aside (--on-bad-rows=skip); cleaned_sales_data: rows with a null amount or amount <= 0 are dropped"},
	}, byField["amount"].Transformations)
	var dateSubtypes []string
	for _, tr := range byField["date"].Transformations {
		require.Equal(t, "INDIRECT", tr.Type)
		dateSubtypes = append(dateSubtypes, tr.Subtype)
	}
	require.Equal(t, []string{"FILTER", "GROUP_BY", "SORT"}, dateSubtypes)
	// The dataset-level list has the same indirect dependencies.
	require.Len(t, f.Dataset, 4)
	require.Equal(t, "date", f.Dataset[0].Field)
	require.Len(t, f.Dataset[0].Transformations, 3)
}

func TestColumnLineageFacetErrors(t *testing.T) {
	cat, err := pipeline.Columns()
	require.NoError(t, err)
	inputs := map[string]DatasetRef{pipeline.InputSource: testInput}

	_, err = ColumnLineageFacet(cat, "nope", inputs, nil)
	require.ErrorContains(t, err, `node "nope" has no column declarations`)

	_, err = ColumnLineageFacet(cat, pipeline.NodeDaily, map[string]DatasetRef{}, nil)
	require.ErrorContains(t, err, `no dataset given for the input "source"`)

	// A written schema with an undeclared column: error, but the facet
	// still covers the declared ones, in the schema's order.
	f, err := ColumnLineageFacet(cat, pipeline.NodeDaily, inputs, []frame.Field{{Name: "date"}, {Name: "mystery"}})
	require.ErrorContains(t, err, "columns mystery have no declaration")
	require.Len(t, f.Fields, 1)
	require.Contains(t, f.Fields, "date")
}

func TestColumnLineageOutputs(t *testing.T) {
	cat, err := pipeline.Columns()
	require.NoError(t, err)
	var logs bytes.Buffer
	add := ColumnLineageOutputs(cat, testInput, slog.New(slog.NewTextHandler(&logs, nil)))

	var ds lineage.OutputDataset
	add(output.Written{Node: RejectedRowsName, Path: "/out/rejected_rows.csv"}, &ds)
	require.Nil(t, ds.Facets.ColumnLineage, "rejected_rows is not a node")

	add(output.Written{Node: pipeline.NodeTop, Path: "/out/top_performing_days.json", Schema: output.SchemaOf([]pipeline.TopDay{})}, &ds)
	require.NotNil(t, ds.Facets.ColumnLineage)
	require.Len(t, ds.Facets.ColumnLineage.Fields, 5)
	require.Empty(t, logs.String())

	ds = lineage.OutputDataset{}
	add(output.Written{Node: pipeline.NodeTop, Path: "/out/x.json", Schema: []frame.Field{{Name: "odd"}}}, &ds)
	require.NotNil(t, ds.Facets.ColumnLineage)
	require.Contains(t, logs.String(), "incomplete column lineage")

	require.NotPanics(t, func() { ColumnLineageOutputs(cat, testInput, nil)(output.Written{Node: "x"}, &ds) })
}

// declaredNodes lists the catalog's declarations, in the DAG's order.
func declaredNodes(t *testing.T, cat *columns.Catalog) []columns.Node {
	t.Helper()
	d, err := Build()
	require.NoError(t, err)
	var out []columns.Node
	for _, dn := range d.Nodes() {
		if n, ok := cat.Node(dn.Name); ok {
			out = append(out, n)
		}
	}
	return out
}
