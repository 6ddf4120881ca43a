package output

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
)

// The JSON shapes below mirror the pipeline's result types (SPEC section 1)
// closely enough to test the writer; the pipeline owns the real ones.
type testTrend struct {
	PeriodGrowthRate frame.NullFloat `json:"period_growth_rate"`
	MaxSalesAmount   frame.Float     `json:"max_sales_amount"`
	MaxSalesDate     frame.Date      `json:"max_sales_date"`
	MinSalesAmount   frame.Float     `json:"min_sales_amount"`
	MinSalesDate     frame.Date      `json:"min_sales_date"`
	WeekdayAvgSales  frame.NullFloat `json:"weekday_avg_sales"`
	WeekendAvgSales  frame.NullFloat `json:"weekend_avg_sales"`
	WeekendPremium   frame.NullFloat `json:"weekend_premium"`
	Volatility       frame.NullFloat `json:"volatility"`
}

type testTopDay struct {
	Date             frame.Date  `json:"date"`
	TotalAmount      frame.Float `json:"total_amount"`
	TransactionCount int         `json:"transaction_count"`
	DayOfWeek        string      `json:"day_of_week"`
	IsWeekend        bool        `json:"is_weekend"`
}

type testQuality struct {
	RawRecordCount      int         `json:"raw_record_count"`
	CleanedRecordCount  int         `json:"cleaned_record_count"`
	DataLossRate        frame.Float `json:"data_loss_rate"`
	NullCount           int         `json:"null_count"`
	DuplicateCount      int         `json:"duplicate_count"`
	RejectedRecordCount *int        `json:"rejected_record_count,omitempty"`
}

func trendSample() testTrend {
	return testTrend{
		PeriodGrowthRate: frame.SomeFloat(33.74),
		MaxSalesAmount:   8600.75, MaxSalesDate: frame.DateOf(2024, 1, 15),
		MinSalesAmount: 2700.25, MinSalesDate: frame.DateOf(2024, 1, 2),
		WeekdayAvgSales: frame.SomeFloat(5927.32), WeekendAvgSales: frame.SomeFloat(6588.75),
		WeekendPremium: frame.SomeFloat(11.16), Volatility: frame.SomeFloat(1804.01),
	}
}

func topSample() []testTopDay {
	return []testTopDay{
		{frame.DateOf(2024, 1, 15), 8600.75, 3, "Monday", false},
		{frame.DateOf(2024, 1, 6), 8301.5, 3, "Saturday", true},
		{frame.DateOf(2024, 1, 8), 8001, 3, "Monday", false},
		{frame.DateOf(2024, 1, 13), 7751.25, 3, "Saturday", true},
		{frame.DateOf(2024, 1, 5), 7601, 3, "Friday", false},
	}
}

func qualitySample() testQuality {
	return testQuality{RawRecordCount: 45, CleanedRecordCount: 43, DataLossRate: 4.444444444444445, NullCount: 1}
}

// isoDate matches a quoted YYYY-MM-DD date.
var isoDate = regexp.MustCompile(`"(\d{4}-\d{2}-\d{2})"`)

func jsonString(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, v))
	return buf.String()
}

func TestWriteJSONMatchesReferenceFiles(t *testing.T) {
	cases := []struct {
		file  string
		value any
	}{
		{"trend_analysis.json", trendSample()},
		{"top_performing_days.json", topSample()},
		{"data_quality_metrics.json", qualitySample()},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ref := string(readTestdata(t, "reference/"+c.file))
			got := jsonString(t, c.value)
			// The same values: the reference's dates carry a time of day.
			require.JSONEq(t, ref, isoDate.ReplaceAllString(got, `"$1 00:00:00"`), "values differ from the reference")
			// And the same bytes once the documented date quirk is applied,
			// which pins the layout: indent, separators; and unlike the
			// reference (json.dump) the file ends with a newline (issue 10).
			require.Equal(t, strings.ReplaceAll(ref, ` 00:00:00"`, `"`)+"\n", got)
		})
	}
}

func TestWriteJSONMatchesPythonJSONDump(t *testing.T) {
	type nested struct {
		A int   `json:"a"`
		B []int `json:"b"`
	}
	v := struct {
		HTML       string          `json:"html"`
		Accents    string          `json:"accents"`
		Emoji      string          `json:"emoji"`
		Controls   string          `json:"controls"`
		Separators string          `json:"separators"`
		Backslash  string          `json:"backslash"`
		Int        int             `json:"int"`
		Neg        int64           `json:"neg"`
		Float      frame.Float     `json:"float"`
		Small      frame.Float     `json:"small"`
		Big        frame.Float     `json:"big"`
		NegZero    frame.Float     `json:"negzero"`
		Null       frame.NullFloat `json:"null"`
		Flag       bool            `json:"flag"`
		Off        bool            `json:"off"`
		EmptyList  []int           `json:"empty_list"`
		EmptyObj   map[string]int  `json:"empty_obj"`
		Nested     []nested        `json:"nested"`
	}{
		HTML:       `<a href="x">&amp;</a>`,
		Accents:    "café naïve €",
		Emoji:      "sales 📈",
		Controls:   "tab\tnl\ncr\rbs\bff\fnul\x00us\x1fdel\x7f",
		Separators: "\u2028\u2029",
		Backslash:  `a\b/c"d`,
		Int:        42, Neg: -7,
		Float: 8001, Small: 1e-5, Big: 1e16, NegZero: frame.Float(math.Copysign(0, -1)),
		Flag: true, EmptyList: []int{}, EmptyObj: map[string]int{},
		Nested: []nested{{1, []int{1, 2}}, {2, []int{}}},
	}
	require.Equal(t, string(readTestdata(t, "python/json_dump.json"))+"\n", jsonString(t, v), "json.dump's bytes plus a final newline")
}

func TestWriteJSONValues(t *testing.T) {
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"NaN float is null", struct {
			A frame.Float     `json:"a"`
			B frame.NullFloat `json:"b"`
		}{frame.Float(math.NaN()), frame.NullFloat{}}, "{\n  \"a\": null,\n  \"b\": null\n}"},
		{"map keys sorted", map[string]int{"b": 2, "a": 1}, "{\n  \"a\": 1,\n  \"b\": 2\n}"},
		{"scalar", 3, "3"},
		{"nil", nil, "null"},
		{"empty array", []testTopDay{}, "[]"},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", `"a\ufffdb"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := jsonString(t, c.v)
			require.Equal(t, c.want+"\n", got, "a JSON file ends with a newline")
			require.True(t, json.Valid([]byte(got)))
		})
	}
}

func TestWriteJSONErrors(t *testing.T) {
	err := WriteJSON(&bytes.Buffer{}, map[string]float64{"x": math.NaN()})
	require.ErrorContains(t, err, "unsupported value: NaN")
	require.ErrorContains(t, err, "frame.NullFloat", "the error says what to do")
	require.ErrorIs(t, WriteJSON(&failWriter{after: 3}, topSample()), errDiskFull)
}
