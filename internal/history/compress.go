package history

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Events are stored compressed: OpenLineage JSON repeats the same producer
// and schema URLs in every facet, and flate with a preset dictionary of
// such text shrinks a salesdag event about ninefold, so thousands of runs
// stay a small file. The first byte of a stored value says how it is
// encoded; raw JSON (starting with '{') is read as it is.
const (
	encFlateDictV1 byte = 1
)

// eventDictV1 is the preset dictionary of encFlateDictV1. It is part of
// the file format: never change it; add a new encoding instead.
const eventDictV1 = `{"errorMessage":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet","message":"node cleaned_sales_data: ","programmingLanguage":"go","stackTrace":"*errors.errorString: "}}
"dataQualityAssertions":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet","assertions":[{"assertion":"not_null","success":true,"column":"date","severity":"fail","name":"","expected":"","actual":""}]}
"columnLineage":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet","fields":{"total_amount":{"inputFields":[{"namespace":"file","name":"","field":"amount","transformations":[{"type":"DIRECT","subtype":"AGGREGATION","description":""},{"type":"INDIRECT","subtype":"GROUP_BY"},{"type":"INDIRECT","subtype":"FILTER"},{"type":"DIRECT","subtype":"IDENTITY"},{"type":"DIRECT","subtype":"TRANSFORMATION"}]}]}},"dataset":[{"namespace":"file","name":"","field":"date","transformations":[{"type":"INDIRECT","subtype":"SORT"},{"type":"INDIRECT","subtype":"WINDOW"}]}]}
"inputFacets":{"dataQualityMetrics":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet","rowCount":0,"bytes":0,"fileCount":1,"columnMetrics":{"amount":{"nullCount":0,"distinctCount":0,"sum":0,"count":0,"min":0,"max":0},"customer_id":{"nullCount":0,"distinctCount":0},"date":{"nullCount":0,"distinctCount":0},"product_id":{"nullCount":0,"distinctCount":0}}},"inputStatistics":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet","rowCount":0,"size":0,"fileCount":1}}
"outputs":[{"namespace":"file","name":"/output/daily_sales_summary.csv","facets":{"dataSource":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet","name":"file","uri":"file:///output/"},"schema":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet","fields":[{"name":"date","type":"date","ordinal_position":1},{"name":"product_id","type":"string","ordinal_position":2},{"name":"amount","type":"decimal","ordinal_position":3},{"name":"customer_id","type":"string","ordinal_position":4}]}},"outputFacets":{"outputStatistics":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet","rowCount":0,"size":0,"fileCount":1}}}]
.csv.json.parquet enriched_daily_summary weekly_aggregation trend_analysis top_performing_days data_quality_metrics daily_sales_summary cleaned_sales_data 
{"eventType":"COMPLETE","eventTime":"2026-01-01T00:00:00.000000000Z","run":{"runId":"01900000-0000-7000-8000-000000000000","facets":{"parent":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet","run":{"runId":"01900000-0000-7000-8000-000000000000"},"job":{"namespace":"default","name":"sales_data_pipeline"},"root":{"run":{"runId":"01900000-0000-7000-8000-000000000000"},"job":{"namespace":"default","name":"sales_data_pipeline"}}},"processing_engine":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet","version":"","name":"salesdag","openlineageAdapterVersion":""}}},"job":{"namespace":"default","name":"sales_data_pipeline.raw_sales_data","facets":{"documentation":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet","description":""},"jobType":{"_producer":"https://github.com/salesdag/salesdag","_schemaURL":"https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet","processingType":"BATCH","integration":"SALESDAG","jobType":"TASK"}}},"inputs":[],"outputs":[],"producer":"https://github.com/salesdag/salesdag","schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}`

var dictV1 = []byte(eventDictV1)

var flateWriters = sync.Pool{New: func() any {
	w, err := flate.NewWriterDict(io.Discard, 5, dictV1)
	if err != nil {
		panic(err) // only for an invalid level, a constant
	}
	return w
}}

// compressEvent compresses an event's JSON for storage.
func compressEvent(data []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(data)/4 + 16)
	b.WriteByte(encFlateDictV1)
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(&b)
	if _, err := w.Write(data); err != nil {
		return nil, fmt.Errorf("history: compress event: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("history: compress event: %w", err)
	}
	return b.Bytes(), nil
}

// decompressEvent returns the JSON of a stored event.
func decompressEvent(v []byte) ([]byte, error) {
	if len(v) == 0 {
		return nil, errors.New("history: empty event record")
	}
	switch v[0] {
	case '{':
		return bytes.Clone(v), nil
	case encFlateDictV1:
		out, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(v[1:]), dictV1))
		if err != nil {
			return nil, fmt.Errorf("history: decompress event: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("history: event record in unknown encoding %d (written by a newer salesdag?)", v[0])
}
