// Package difftest holds the differential test: random valid inputs
// (pipeline.GenerateRandom) run through salesdag and through the pandas
// reference of SPEC section 1 (testdata/reference/salesdag_ref.py), every
// output compared. It has no code of its own outside its tests.
package difftest
