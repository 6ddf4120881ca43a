package output

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
)

// table is a node result that is a table.
type table struct{ f *frame.Frame }

func (t table) Table() *frame.Frame { return t.f }

// ptrTable has a pointer receiver, so a nil *ptrTable is a Tabler whose
// Table would dereference nil.
type ptrTable struct{ f *frame.Frame }

func (t *ptrTable) Table() *frame.Frame { return t.f }

// sampleResults are the six default outputs of a run on the sample.
func sampleResults(t testing.TB) map[string]any {
	F, I, S, B, D := frame.KindFloat, frame.KindInt, frame.KindString, frame.KindBool, frame.KindDate
	return map[string]any{
		"daily_sales_summary":    table{dailySample()},
		"enriched_daily_summary": table{parseTyped(t, string(readTestdata(t, "reference/enriched_daily_summary.csv")), D, F, F, I, I, F, F, F, F, S, B)},
		"weekly_aggregation":     table{weeklySample()},
		"trend_analysis":         trendSample(),
		"top_performing_days":    topSample(),
		"data_quality_metrics":   qualitySample(),
	}
}

var sampleNodes = []string{"daily_sales_summary", "enriched_daily_summary", "weekly_aggregation",
	"trend_analysis", "top_performing_days", "data_quality_metrics"}

// dirEntries lists the names in dir, sorted.
func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func TestWriteAllSampleRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "nested") // created on demand
	ws, err := WriteAll(context.Background(), dir, sampleResults(t), sampleNodes, DefaultFormats)
	require.NoError(t, err)
	require.Equal(t, []string{
		"daily_sales_summary.csv", "data_quality_metrics.json", "enriched_daily_summary.csv",
		"top_performing_days.json", "trend_analysis.json", "weekly_aggregation.csv",
	}, dirEntries(t, dir), "one file per node, no temporary or probe files left")

	// Byte-identical to the reference, except the documented JSON date quirk.
	for _, name := range dirEntries(t, dir) {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		want := strings.ReplaceAll(string(readTestdata(t, "reference/"+name)), ` 00:00:00"`, `"`)
		if strings.HasSuffix(name, ".json") {
			want += "\n" // issue 10: our JSON files end with a newline; the reference's do not
		}
		require.Equal(t, want, string(got), name)
	}

	require.Len(t, ws, 6)
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	for i, w := range ws {
		require.Equal(t, sampleNodes[i], w.Node, "written in the order asked")
		fi, err := os.Stat(w.Path)
		require.NoError(t, err)
		require.Equal(t, fi.Size(), w.Bytes, w.Path)
		require.Equal(t, abs, filepath.Dir(w.Path), "paths are absolute")
	}
	require.Equal(t, Written{Node: "weekly_aggregation", Path: filepath.Join(abs, "weekly_aggregation.csv"), Format: "csv",
		Rows: 3, Bytes: 249, Schema: weeklySample().Schema()}, ws[2])
	require.Equal(t, "json", ws[3].Format)
	require.EqualValues(t, 1, ws[3].Rows, "an object is one row")
	require.EqualValues(t, 5, ws[4].Rows, "an array counts its elements")
	require.Equal(t, []frame.Field{fld("date", "date"), fld("total_amount", "float64"), fld("transaction_count", "int64"),
		fld("day_of_week", "string"), fld("is_weekend", "bool")}, ws[4].Schema)
}

func TestWriteAllParquet(t *testing.T) {
	dir := t.TempDir()
	ws, err := WriteAll(context.Background(), dir, sampleResults(t), []string{"weekly_aggregation", "trend_analysis"},
		[]Format{FormatParquet})
	require.NoError(t, err)
	require.Equal(t, []string{"trend_analysis.json", "weekly_aggregation.parquet"}, dirEntries(t, dir),
		"parquet only: no CSV for tables; an object has no Parquet form and stays JSON")
	require.Len(t, ws, 2)
	require.Equal(t, "parquet", ws[0].Format)
	require.EqualValues(t, 3, ws[0].Rows)
	data, err := os.ReadFile(ws[0].Path)
	require.NoError(t, err)
	rows, cols := readParquet(t, data)
	require.EqualValues(t, 3, rows)
	require.Equal(t, "daily_std", cols[3].name)
	require.Nil(t, cols[3].values[2], "the null standard deviation stays null")
}

func TestWriteSingleNode(t *testing.T) {
	dir := t.TempDir()
	ws, err := Write(dir, "daily", &frame.Frame{Columns: []frame.Column{{Name: "x", Kind: frame.KindInt, Ints: []int64{1, 2}}}}, nil)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	got, err := os.ReadFile(filepath.Join(dir, "daily.csv"))
	require.NoError(t, err)
	require.Equal(t, "x\n1\n2\n", string(got), "a bare *frame.Frame is a table too")
	require.EqualValues(t, 2, ws[0].Rows)
}

func TestWriteAllRejectsBadRequestsBeforeTouchingDisk(t *testing.T) {
	ragged := &frame.Frame{Columns: []frame.Column{{Name: "a", Kind: frame.KindInt, Ints: []int64{1}}, {Name: "b", Kind: frame.KindInt}}}
	cases := []struct {
		name    string
		results map[string]any
		nodes   []string
		formats []Format
		want    string
	}{
		{"unknown format", map[string]any{"a": 1}, []string{"a"}, []Format{"xml"}, `unknown format "xml"`},
		{"missing result", map[string]any{"a": 1}, []string{"b"}, nil, `no result for node "b"`},
		{"path in node name", map[string]any{"../a": 1}, []string{"../a"}, nil, "cannot be used as a file name"},
		{"empty node name", map[string]any{"": 1}, []string{""}, nil, "cannot be used as a file name"},
		{"nil value", map[string]any{"a": nil}, []string{"a"}, nil, `node "a" has no value`},
		{"nil pointer table", map[string]any{"a": (*ptrTable)(nil)}, []string{"a"}, nil, `node "a" has no value`},
		{"nil table", map[string]any{"a": table{}}, []string{"a"}, nil, `node "a" returned a nil table`},
		{"invalid table", map[string]any{"a": table{ragged}}, []string{"a"}, nil, `node "a": frame: column "b" has 0 rows`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			_, err := WriteAll(context.Background(), dir, c.results, c.nodes, c.formats)
			require.ErrorContains(t, err, c.want)
			require.NoDirExists(t, dir, "nothing is created for a request that cannot succeed")
		})
	}
}

// cancelOnMarshal cancels a context while it is being encoded, i.e. in the
// middle of WriteAll's writing phase.
type cancelOnMarshal struct{ cancel context.CancelFunc }

func (c cancelOnMarshal) MarshalJSON() ([]byte, error) {
	c.cancel()
	return []byte(`{"x": 1}`), nil
}

// seedOldOutputs puts the files of an earlier run into dir.
func seedOldOutputs(t *testing.T, dir string) map[string]string {
	t.Helper()
	old := map[string]string{
		"daily_sales_summary.csv": "old daily\n",
		"trend_analysis.json":     `{"old": true}`,
	}
	for name, content := range old {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return old
}

func requireOldOutputs(t *testing.T, dir string, old map[string]string) {
	t.Helper()
	var names []string
	for name, content := range old {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, content, string(got), "%s must be untouched", name)
		names = append(names, name)
	}
	slices.Sort(names)
	require.Equal(t, names, dirEntries(t, dir), "no new, partial or temporary file")
}

func TestWriteAllFailureLeavesEarlierOutputsUntouched(t *testing.T) {
	dir := t.TempDir()
	old := seedOldOutputs(t, dir)
	results := sampleResults(t)
	// The fourth node cannot be encoded; three files were already written
	// to temporary files by then.
	results["trend_analysis"] = map[string]float64{"volatility": math.NaN()}
	_, err := WriteAll(context.Background(), dir, results,
		[]string{"daily_sales_summary", "weekly_aggregation", "top_performing_days", "trend_analysis"}, DefaultFormats)
	require.ErrorContains(t, err, "trend_analysis.json")
	require.ErrorContains(t, err, "unsupported value: NaN")
	requireOldOutputs(t, dir, old)
}

func TestWriteAllCancellation(t *testing.T) {
	t.Run("before writing", func(t *testing.T) {
		dir := t.TempDir()
		old := seedOldOutputs(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := WriteAll(ctx, dir, sampleResults(t), sampleNodes, DefaultFormats)
		require.ErrorIs(t, err, context.Canceled)
		requireOldOutputs(t, dir, old)
	})
	t.Run("while writing", func(t *testing.T) {
		dir := t.TempDir()
		old := seedOldOutputs(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		results := sampleResults(t)
		results["interrupt"] = cancelOnMarshal{cancel}
		_, err := WriteAll(ctx, dir, results, []string{"daily_sales_summary", "interrupt", "weekly_aggregation"}, DefaultFormats)
		require.ErrorIs(t, err, context.Canceled)
		requireOldOutputs(t, dir, old)
	})
	t.Run("first of many files", func(t *testing.T) {
		dir := t.TempDir()
		old := seedOldOutputs(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		results := sampleResults(t)
		results["interrupt"] = cancelOnMarshal{cancel}
		_, err := WriteAll(ctx, dir, results, []string{"interrupt", "daily_sales_summary"}, DefaultFormats)
		require.ErrorIs(t, err, context.Canceled)
		requireOldOutputs(t, dir, old)
	})
}

// panicOnMarshal is a result whose encoder has a bug.
type panicOnMarshal struct{}

func (panicOnMarshal) MarshalJSON() ([]byte, error) { panic("encoder bug") }

func TestWriteAllReportsTheFailingFile(t *testing.T) {
	cases := []struct {
		name  string
		value any
		want  string
	}{
		{"encoding error", map[string]float64{"x": math.Inf(1)}, "unsupported value: +Inf"},
		{"panicking encoder", panicOnMarshal{}, "panic: encoder bug"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			old := seedOldOutputs(t, dir)
			results := sampleResults(t)
			results["bad"] = c.value
			// Many good files around the bad one: the error must name the
			// bad file, not a sibling stopped because of it.
			nodes := append(slices.Clone(sampleNodes[:3]), "bad")
			nodes = append(nodes, sampleNodes[3:]...)
			for range 5 {
				_, err := WriteAll(context.Background(), dir, results, nodes, []Format{FormatCSV, FormatParquet})
				require.ErrorContains(t, err, filepath.Join(dir, "bad.json"))
				require.ErrorContains(t, err, c.want)
				requireOldOutputs(t, dir, old)
			}
		})
	}
}

func TestWriteAllRenameFailure(t *testing.T) {
	// A directory sits where the second file should go: its rename fails
	// after the first file was already renamed. The first is rolled back:
	// a new file is removed, a replaced one gets its old content back.
	for _, seeded := range []bool{false, true} {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "weekly_aggregation.csv", "blocker"), 0o755))
		daily := filepath.Join(dir, "daily_sales_summary.csv")
		if seeded {
			require.NoError(t, os.WriteFile(daily, []byte("old results\n"), 0o644))
		}
		results := sampleResults(t)
		_, err := WriteAll(context.Background(), dir, results,
			[]string{"daily_sales_summary", "weekly_aggregation", "trend_analysis"}, DefaultFormats)
		require.ErrorContains(t, err, "replace "+filepath.Join(dir, "weekly_aggregation.csv"))
		require.NotContains(t, err.Error(), "could not restore")
		if seeded {
			b, err := os.ReadFile(daily)
			require.NoError(t, err)
			require.Equal(t, "old results\n", string(b), "the earlier output is put back")
			require.Equal(t, []string{"daily_sales_summary.csv", "weekly_aggregation.csv"}, dirEntries(t, dir),
				"no temporary or backup file is left behind")
		} else {
			require.Equal(t, []string{"weekly_aggregation.csv"}, dirEntries(t, dir),
				"the new file is taken back; no temporary file is left behind")
		}
	}
}

func TestWriteAllLeavesNoBackupsOnSuccess(t *testing.T) {
	dir := t.TempDir()
	old := seedOldOutputs(t, dir)
	_, err := WriteAll(context.Background(), dir, sampleResults(t), []string{"daily_sales_summary"}, DefaultFormats)
	require.NoError(t, err)
	require.Equal(t, []string{"daily_sales_summary.csv", "trend_analysis.json"}, dirEntries(t, dir),
		"no hidden backup or temporary file is left behind")
	b, err := os.ReadFile(filepath.Join(dir, "daily_sales_summary.csv"))
	require.NoError(t, err)
	require.NotEqual(t, old["daily_sales_summary.csv"], string(b), "the output was replaced")
}

// rootBypassesPermissions reports whether a file can be created in a 0500
// directory (true for root without a restricting capability set).
func rootBypassesPermissions(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.CreateTemp(dir, "probe-*")
	if err != nil {
		return false
	}
	f.Close()
	require.NoError(t, os.Remove(f.Name()))
	return true
}

func TestWriteAllUnwritableDirectory(t *testing.T) {
	t.Run("read-only directory", func(t *testing.T) {
		dir := t.TempDir()
		old := seedOldOutputs(t, dir)
		require.NoError(t, os.Chmod(dir, 0o500))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		if rootBypassesPermissions(t, dir) {
			t.Skip("running with permission-bypassing privileges (root): a 0500 directory is writable; the other subtests cover the error path")
		}
		_, err := WriteAll(context.Background(), dir, sampleResults(t), sampleNodes, DefaultFormats)
		require.ErrorContains(t, err, "output directory "+dir+" is not writable")
		require.ErrorIs(t, err, fs.ErrPermission)
		requireOldOutputs(t, dir, old)
	})
	t.Run("directory nobody may write, even root", func(t *testing.T) {
		// sysfs refuses new files to every user, so this covers the
		// "not writable" path where the chmod subtest is skipped.
		const sys = "/sys"
		if fi, err := os.Stat(sys); err != nil || !fi.IsDir() || rootBypassesPermissions(t, sys) {
			t.Skip("no read-only /sys here")
		}
		err := CheckDir(sys)
		require.Error(t, err)
		require.Regexp(t, `^output directory /sys is not writable: open /sys/\.salesdag-probe-\d+: .+; fix its permissions or choose another --output-dir$`, err.Error())
	})
	t.Run("path is a regular file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "results")
		require.NoError(t, os.WriteFile(file, []byte("keep me"), 0o644))
		_, err := WriteAll(context.Background(), file, sampleResults(t), sampleNodes, DefaultFormats)
		require.EqualError(t, err, "output directory "+file+" is not a directory: choose another --output-dir")
		got, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, "keep me", string(got))
	})
	t.Run("parent is a regular file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "results")
		require.NoError(t, os.WriteFile(file, nil, 0o644))
		_, err := WriteAll(context.Background(), filepath.Join(file, "sub"), sampleResults(t), sampleNodes, DefaultFormats)
		require.ErrorContains(t, err, "output directory "+filepath.Join(file, "sub")+" cannot be created")
		require.ErrorIs(t, err, syscall.ENOTDIR)
	})
	t.Run("empty path", func(t *testing.T) {
		require.ErrorContains(t, CheckDir(""), "output directory is empty")
	})
	t.Run("one line", func(t *testing.T) {
		err := CheckDir(filepath.Join("/dev/null", "x"))
		require.Error(t, err)
		require.NotContains(t, err.Error(), "\n", "the message fits the CLI's one-line error")
	})
}

func TestParseFormats(t *testing.T) {
	fs, err := ParseFormats("")
	require.NoError(t, err)
	require.Equal(t, DefaultFormats, fs)
	fs, err = ParseFormats(" CSV, parquet ,csv,json")
	require.NoError(t, err)
	require.Equal(t, []Format{FormatCSV, FormatParquet, FormatJSON}, fs)
	_, err = ParseFormats("csv,xlsx")
	require.EqualError(t, err, `output: unknown format "xlsx": use csv, json or parquet`)
}

func TestSchemaOf(t *testing.T) {
	type Base struct {
		ID int `json:"id"`
	}
	type record struct {
		Base
		*frame.Column `json:"-"`
		Date          frame.Date        `json:"date"`
		Amount        frame.Float       `json:"amount"`
		Maybe         frame.NullFloat   `json:"maybe"`
		Raw           float32           `json:"raw"`
		Count         uint8             `json:"count,omitempty"`
		Code          int               `json:"code,string"`
		Name          string            // no tag: Go name
		OK            *bool             `json:"ok"`
		When          time.Time         `json:"when"`
		Tags          []string          `json:"tags"`
		Extra         map[string]string `json:"extra"`
		Inner         Base              `json:"inner"`
		Anything      any               `json:"anything"`
		Skipped       string            `json:"-"`
		hidden        int
	}
	recordFields := []frame.Field{
		fld("id", "int64"), fld("date", "date"), fld("amount", "float64"), fld("maybe", "float64"), fld("raw", "float64"),
		fld("count", "int64"), fld("code", "string"), fld("Name", "string"), fld("ok", "bool"), fld("when", "timestamp"),
		fld("tags", "array"), fld("extra", "object"), fld("inner", "object"), fld("anything", "any"),
	}
	_ = record{}.hidden
	cases := []struct {
		name string
		v    any
		want []frame.Field
	}{
		{"table", table{weeklySample()}, weeklySample().Schema()},
		{"bare frame", dailySample(), dailySample().Schema()},
		{"nil table", table{}, nil},
		// A zero count is left out of the JSON (omitempty), so out of the
		// schema of this value; a type alone lists every field.
		{"struct", record{}, withoutField(recordFields, "count")},
		{"pointer to struct", &record{}, withoutField(recordFields, "count")},
		{"struct with a count", record{Count: 3}, recordFields},
		{"typed nil pointer", (*record)(nil), nil},
		{"slice of structs", []record{}, recordFields},
		{"slice of pointers", []*record{nil}, recordFields},
		{"array of structs", [1]Base{}, []frame.Field{fld("id", "int64")}},
		{"map sorted", map[string]int{"b": 1, "a": 2}, []frame.Field{fld("a", "int64"), fld("b", "int64")}},
		{"map of any", map[string]any{"n": 1.5, "s": "x", "z": nil, "d": frame.Date(3)},
			[]frame.Field{fld("d", "date"), fld("n", "float64"), fld("s", "string"), fld("z", "any")}},
		{"slice of maps", []any{map[string]any{"k": true}}, []frame.Field{fld("k", "bool")}},
		{"empty slice of any", []any{}, nil},
		{"typed nil inside any", []any{(*Base)(nil)}, []frame.Field{fld("id", "int64")}},
		{"pointer to pointer", ptr(&Base{}), []frame.Field{fld("id", "int64")}},
		{"nil inside any", []any{nil}, nil},
		{"non-string map keys", map[int]int{1: 1}, nil},
		{"nil map", map[string]int(nil), []frame.Field{}},
		{"scalar", 3, nil},
		{"nil", nil, nil},
		// The schema lists what the file holds: an omitempty field only
		// when it is written.
		{"quality metrics", qualitySample(), []frame.Field{fld("raw_record_count", "int64"), fld("cleaned_record_count", "int64"),
			fld("data_loss_rate", "float64"), fld("null_count", "int64"), fld("duplicate_count", "int64")}},
		{"quality metrics with rejected rows", qualityWithRejected(), []frame.Field{fld("raw_record_count", "int64"), fld("cleaned_record_count", "int64"),
			fld("data_loss_rate", "float64"), fld("null_count", "int64"), fld("duplicate_count", "int64"), fld("rejected_record_count", "int64")}},
		{"quality metrics type only", []testQuality(nil), []frame.Field{fld("raw_record_count", "int64"), fld("cleaned_record_count", "int64"),
			fld("data_loss_rate", "float64"), fld("null_count", "int64"), fld("duplicate_count", "int64"), fld("rejected_record_count", "int64")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, SchemaOf(c.v))
		})
	}
}

func TestJSONRows(t *testing.T) {
	var nilPtr *testTrend
	cases := []struct {
		v    any
		want int64
	}{
		{topSample(), 5},
		{[]int(nil), 0},
		{[2]int{}, 2},
		{map[string]int{"a": 1}, 1},
		{map[string]int(nil), 0},
		{trendSample(), 1},
		{ptr(trendSample()), 1},
		{nilPtr, 0},
		{"x", 1},
		{nil, 0},
	}
	for _, c := range cases {
		require.Equal(t, c.want, jsonRows(c.v), "%#v", c.v)
	}
}

func ptr[T any](v T) *T { return &v }

func fld(name, typ string) frame.Field { return frame.Field{Name: name, Type: typ} }

// BenchmarkWriteAllSample measures a default run's six files, fsyncs included.
func BenchmarkWriteAllSample(b *testing.B) {
	dir := b.TempDir()
	res := sampleResults(b)
	for b.Loop() {
		if _, err := WriteAll(context.Background(), dir, res, sampleNodes, DefaultFormats); err != nil {
			b.Fatal(err)
		}
	}
}

func qualityWithRejected() *testQuality {
	q := qualitySample()
	n := 2
	q.RejectedRecordCount = &n
	return &q
}

func withoutField(fs []frame.Field, name string) []frame.Field {
	var out []frame.Field
	for _, f := range fs {
		if f.Name != name {
			out = append(out, f)
		}
	}
	return out
}

// TestFormatsListExactlyWhatIsWritten: --format names the files a table
// gets; objects and lists are always JSON (issue 10).
func TestFormatsListExactlyWhatIsWritten(t *testing.T) {
	nodes := []string{"weekly_aggregation", "trend_analysis", "top_performing_days"}
	cases := []struct {
		formats []Format
		want    []string
	}{
		{nil, []string{"top_performing_days.json", "trend_analysis.json", "weekly_aggregation.csv"}},
		{DefaultFormats, []string{"top_performing_days.json", "trend_analysis.json", "weekly_aggregation.csv"}},
		{[]Format{FormatJSON}, []string{"top_performing_days.json", "trend_analysis.json", "weekly_aggregation.json"}},
		{[]Format{FormatParquet}, []string{"top_performing_days.json", "trend_analysis.json", "weekly_aggregation.parquet"}},
		{[]Format{FormatCSV, FormatJSON}, []string{"top_performing_days.json", "trend_analysis.json", "weekly_aggregation.csv", "weekly_aggregation.json"}},
		{[]Format{FormatParquet, FormatJSON, FormatCSV}, []string{"top_performing_days.json", "trend_analysis.json",
			"weekly_aggregation.csv", "weekly_aggregation.json", "weekly_aggregation.parquet"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.formats), func(t *testing.T) {
			dir := t.TempDir()
			ws, err := WriteAll(context.Background(), dir, sampleResults(t), nodes, c.formats)
			require.NoError(t, err)
			require.Equal(t, c.want, dirEntries(t, dir))
			require.Len(t, ws, len(c.want))
			for _, w := range ws {
				require.Equal(t, w.Format, strings.TrimPrefix(filepath.Ext(w.Path), "."), "Format names the file's format")
			}
		})
	}
}

// TestWriteJSONRecords: a table as JSON is laid out exactly as the same
// rows written as a slice of structs, and reads back to the same values.
func TestWriteJSONRecords(t *testing.T) {
	top := topSample()
	f := &frame.Frame{Columns: []frame.Column{
		{Name: "date", Kind: frame.KindDate}, {Name: "total_amount", Kind: frame.KindFloat},
		{Name: "transaction_count", Kind: frame.KindInt}, {Name: "day_of_week", Kind: frame.KindString},
		{Name: "is_weekend", Kind: frame.KindBool},
	}}
	for _, d := range top {
		f.Columns[0].Dates = append(f.Columns[0].Dates, d.Date)
		f.Columns[1].Floats = append(f.Columns[1].Floats, float64(d.TotalAmount))
		f.Columns[2].Ints = append(f.Columns[2].Ints, int64(d.TransactionCount))
		f.Columns[3].Strings = append(f.Columns[3].Strings, d.DayOfWeek)
		f.Columns[4].Bools = append(f.Columns[4].Bools, d.IsWeekend)
	}
	var got bytes.Buffer
	require.NoError(t, WriteJSONRecords(&got, f))
	require.Equal(t, jsonString(t, top), got.String())
	require.True(t, strings.HasSuffix(got.String(), "}\n]\n"))

	// Nulls, NaN, infinities and strings that need escaping.
	f = &frame.Frame{Columns: []frame.Column{
		{Name: "x", Kind: frame.KindFloat, Floats: []float64{1, math.NaN(), math.Inf(1), 2.5}, Valid: []bool{false, true, true, true}},
		{Name: "s<é>", Kind: frame.KindString, Strings: []string{`a"b\c`, "<&>", "café", `\u003c`}},
	}}
	got.Reset()
	require.NoError(t, WriteJSONRecords(&got, f))
	var back []map[string]any
	require.NoError(t, json.Unmarshal(got.Bytes(), &back), got.String())
	require.Equal(t, []map[string]any{
		{"x": nil, "s<é>": `a"b\c`}, {"x": nil, "s<é>": "<&>"}, {"x": nil, "s<é>": "café"}, {"x": 2.5, "s<é>": `\u003c`},
	}, back)
	require.Contains(t, got.String(), `"s<\u00e9>": "caf\u00e9"`, "escaped as WriteJSON escapes")

	got.Reset()
	require.NoError(t, WriteJSONRecords(&got, &frame.Frame{Columns: []frame.Column{{Name: "x", Kind: frame.KindInt}}}))
	require.Equal(t, "[]\n", got.String())
	require.Error(t, WriteJSONRecords(&got, nil))
}

// Write writes one node's value into dir (see WriteAll).
func Write(dir, node string, v any, formats []Format) ([]Written, error) {
	return WriteAll(context.Background(), dir, map[string]any{node: v}, []string{node}, formats)
}

// WriteAll writes the results of nodes into dir, creating dir if needed.
// Requests that cannot succeed (unknown format, missing or nil result,
// invalid table) fail before anything touches the disk. It then checks
// that dir is writable (CheckDir), writes every file (several at once) to a
// temporary file next to its destination, and renames them all into place
// only after every write succeeded. On an error or a cancelled ctx the
// temporary files are removed and the files already in dir are left as
// they were; a cancellation error wraps ctx.Err().
//
// The result lists the files in the order of nodes (a table's CSV before
// its Parquet), with absolute paths. Repeated node names are written once.
func WriteAll(ctx context.Context, dir string, results map[string]any, nodes []string, formats []Format) ([]Written, error) {
	return WriteSet(ctx, dir, results, nodes, formats, nil)
}
