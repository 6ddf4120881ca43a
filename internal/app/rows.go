package app

import (
	"reflect"

	"github.com/salesdag/salesdag/internal/frame"
	"github.com/salesdag/salesdag/internal/lineage"
)

// RowsFacetKey is the custom run facet with the number of rows (records)
// a node produced, so that the history can show a count for every node,
// also for results that are not written (cleaned_sales_data).
const RowsFacetKey = "salesdag_rows"

// RowsRunFacet is the salesdag_rows run facet.
type RowsRunFacet struct {
	lineage.BaseFacet
	Rows int64 `json:"rows"`
}

// addRowsFacet puts the row count of a completed node's result on its
// event. A result it cannot count gets no facet.
func addRowsFacet(ne lineage.NodeEvent) {
	if ne.Result == nil || ne.Result.Err != nil || ne.Event.EventType != lineage.EventComplete {
		return
	}
	if n, ok := resultRows(ne.Result.Value); ok {
		ne.Event.Run.Facets.SetCustom(RowsFacetKey, &RowsRunFacet{
			BaseFacet: lineage.NewBaseFacet(lineage.CustomFacetSchemaURL("SalesdagRowsRunFacet")),
			Rows:      n,
		})
	}
}

// resultRows counts a node result's rows: a table's rows, a slice's
// elements, 1 for a single record.
func resultRows(v any) (n int64, ok bool) {
	defer func() {
		if recover() != nil { // a side path never crashes a run
			n, ok = 0, false
		}
	}()
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || (rv.Kind() == reflect.Pointer && rv.IsNil()) {
		return 0, false
	}
	switch t := v.(type) {
	case interface{ Len() int }:
		return int64(t.Len()), true
	case *frame.Frame:
		return int64(t.Rows()), true
	case frame.Tabler:
		return int64(t.Table().Rows()), true
	}
	rv = reflect.Indirect(rv)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		return int64(rv.Len()), true
	case reflect.Struct, reflect.Map:
		return 1, true
	}
	return 0, false
}
