//! TF-IDF vectors of the documents agents filed. The type is the one whose filed documents'
//! centroid is nearest (cosine; Rocchio's classifier), and the confidence comes from the
//! nearest filed documents themselves: how much of the similarity of the ten nearest is that
//! type's. Centroids pick the type better than neighbours' votes (76% of the benchmark's
//! documents right against 67%, tests/benches/learning.rs) and neighbours give a confidence that
//! means something (and the documents to show). Chosen over a fitted model (paperless-ngx trains a small neural
//! network on a schedule) because both learn from a single filed document at once, there is
//! nothing to retrain, and a suggestion can name the filed documents it comes from.

use super::terms;
use serde::Serialize;
use std::collections::HashMap;

/// How many of the most similar filed documents vote.
pub const NEIGHBOURS: usize = 10;
/// Below this cosine similarity a filed document is not "like" the new one and does not vote.
pub const MIN_SIMILARITY: f64 = 0.1;
/// The weight of "none of them": a few weakly similar neighbours give a low confidence, many
/// close ones of one type a high one (at most NEIGHBOURS / (NEIGHBOURS + DOUBT) ≈ 0.95).
const DOUBT: f64 = 0.5;
/// The oldest filed documents are forgotten beyond this many (memory stays bounded).
pub const MAX_EXAMPLES: usize = 5_000;

/// What the learner proposes for a document: a type, how sure it is (0–1), and the filed
/// documents of that type it is most like.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Suggestion {
    pub doctype: String,
    pub confidence: f64,
    pub like: Vec<Neighbour>,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Neighbour {
    pub document_id: i64,
    pub similarity: f64,
}

struct Example {
    document_id: i64,
    doctype: String,
    /// (term id, count)
    counts: Vec<(u32, u32)>,
}

/// Filed documents and, built on first use after a change, their inverted index.
#[derive(Default)]
pub struct Model {
    vocab: HashMap<String, u32>,
    examples: Vec<Example>,
    index: Option<Index>,
}

struct Index {
    /// Inverse document frequency by term id.
    idf: Vec<f64>,
    /// Term id → (example, weight in its unit vector).
    postings: Vec<Vec<(u32, f32)>>,
    /// The types filed, and by term id → (type, weight in the type's unit centroid).
    types: Vec<String>,
    centroids: Vec<Vec<(u32, f32)>>,
    /// Each type's centroid before it was made a unit vector: its length.
    centroid_lengths: Vec<f64>,
    /// Each example's type.
    example_types: Vec<u32>,
}

impl Model {
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Records that agents filed `document_id` (whose text is `text`) as `doctype`; a document
    /// filed again replaces its earlier filing.
    pub fn file(&mut self, document_id: i64, doctype: &str, text: &str) {
        let counts = terms::counts(text);
        self.file_counts(document_id, doctype, counts);
    }

    pub fn file_counts(&mut self, document_id: i64, doctype: &str, counts: HashMap<String, u32>) {
        self.examples.retain(|e| e.document_id != document_id);
        let mut ids: Vec<(u32, u32)> = counts
            .into_iter()
            .map(|(word, n)| {
                let next = self.vocab.len() as u32;
                (*self.vocab.entry(word).or_insert(next), n)
            })
            .collect();
        ids.sort_unstable();
        self.examples.push(Example { document_id, doctype: doctype.to_string(), counts: ids });
        if self.examples.len() > MAX_EXAMPLES {
            self.forget_oldest();
        }
        self.index = None;
    }

    /// Drops the oldest tenth and the words only they used.
    fn forget_oldest(&mut self) {
        self.examples.drain(..MAX_EXAMPLES / 10);
        let mut names = vec![String::new(); self.vocab.len()];
        for (word, id) in self.vocab.drain() {
            names[id as usize] = word;
        }
        let mut renumbered: Vec<Option<u32>> = vec![None; names.len()];
        for e in &mut self.examples {
            for (id, _) in &mut e.counts {
                let old = *id as usize;
                *id = *renumbered[old].get_or_insert_with(|| {
                    let next = self.vocab.len() as u32;
                    self.vocab.insert(std::mem::take(&mut names[old]), next);
                    next
                });
            }
            e.counts.sort_unstable();
        }
    }

    fn index(&mut self) {
        if self.index.is_none() {
            let n = self.examples.len() as f64;
            let mut df = vec![0u32; self.vocab.len()];
            for e in &self.examples {
                for (t, _) in &e.counts {
                    df[*t as usize] += 1;
                }
            }
            // Smoothed as scikit-learn's TfidfVectorizer: a word in every document still counts a little.
            let idf: Vec<f64> = df.iter().map(|&d| ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0).collect();
            let mut postings = vec![Vec::new(); self.vocab.len()];
            let mut types: Vec<String> = Vec::new();
            // Per type: the sum of its documents' unit vectors.
            let mut sums: Vec<HashMap<u32, f64>> = Vec::new();
            let mut example_types = Vec::with_capacity(self.examples.len());
            for (i, e) in self.examples.iter().enumerate() {
                let ty = match types.iter().position(|t| *t == e.doctype) {
                    Some(ty) => ty,
                    None => {
                        types.push(e.doctype.clone());
                        sums.push(HashMap::new());
                        types.len() - 1
                    }
                };
                example_types.push(ty as u32);
                let weights: Vec<f64> = e.counts.iter().map(|(t, c)| tf(*c) * idf[*t as usize]).collect();
                let norm = weights.iter().map(|w| w * w).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
                for ((t, _), w) in e.counts.iter().zip(weights) {
                    postings[*t as usize].push((i as u32, (w / norm) as f32));
                    *sums[ty].entry(*t).or_insert(0.0) += w / norm;
                }
            }
            let mut centroids = vec![Vec::new(); self.vocab.len()];
            let mut centroid_lengths = Vec::with_capacity(sums.len());
            for (ty, sum) in sums.iter().enumerate() {
                let norm = sum.values().map(|w| w * w).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
                for (t, w) in sum {
                    centroids[*t as usize].push((ty as u32, (w / norm) as f32));
                }
                centroid_lengths.push(norm);
            }
            self.index = Some(Index { idf, postings, types, centroids, centroid_lengths, example_types });
        }
    }

    /// The type the filed documents most like `text` have, unless nothing filed is like it.
    /// `exclude` leaves one document out (the one asked about, when it was filed itself).
    pub fn suggest(&mut self, text: &str, exclude: Option<i64>) -> Option<Suggestion> {
        let counts = terms::counts(text);
        self.suggest_counts(&counts, exclude)
    }

    pub fn suggest_counts(&mut self, counts: &HashMap<String, u32>, exclude: Option<i64>) -> Option<Suggestion> {
        if self.examples.is_empty() || counts.is_empty() {
            return None;
        }
        self.index();
        let index = self.index.as_ref().expect("built above");
        let unseen_idf = (1.0 + self.examples.len() as f64).ln() + 1.0;
        let mut query = Vec::with_capacity(counts.len());
        let mut norm = 0.0;
        for (word, c) in counts {
            let id = self.vocab.get(word).copied();
            let w = tf(*c) * id.map_or(unseen_idf, |t| index.idf[t as usize]);
            norm += w * w;
            if let Some(t) = id {
                query.push((t, w));
            }
        }
        let norm = norm.sqrt();
        let mut scores = vec![0f64; self.examples.len()];
        let mut by_type = vec![0f64; index.types.len()];
        for (t, w) in query {
            for (e, ew) in &index.postings[t as usize] {
                scores[*e as usize] += w / norm * *ew as f64;
            }
            for (ty, cw) in &index.centroids[t as usize] {
                by_type[*ty as usize] += w / norm * *cw as f64;
            }
        }
        let excluded = exclude.and_then(|d| self.examples.iter().position(|e| e.document_id == d));
        let scores_of_excluded = excluded.map_or(0.0, |ex| scores[ex]);
        let mut near: Vec<(usize, f64)> = scores
            .into_iter()
            .enumerate()
            .filter(|(i, s)| *s >= MIN_SIMILARITY && Some(*i) != excluded)
            .collect();
        near.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        near.truncate(NEIGHBOURS);
        if near.is_empty() {
            return None;
        }
        if let Some(ex) = excluded {
            let ty = index.example_types[ex] as usize;
            by_type[ty] = index.score_without(ty, &self.examples[ex], by_type[ty], scores_of_excluded);
        }
        // The nearest centroid (ties: the type filed first).
        let best_type = (0..by_type.len()).fold(0, |b, t| if by_type[t] > by_type[b] { t } else { b });
        let best = index.types[best_type].as_str();
        let score: f64 = near.iter().filter(|(i, _)| self.examples[*i].doctype == best).map(|(_, s)| s).sum();
        if score == 0.0 {
            // No filed document of that type is near enough to show for it.
            return None;
        }
        let total: f64 = near.iter().map(|(_, s)| s).sum();
        let like = near
            .iter()
            .filter(|(i, _)| self.examples[*i].doctype == best)
            .take(5)
            .map(|(i, s)| Neighbour { document_id: self.examples[*i].document_id, similarity: round3(*s) })
            .collect();
        Some(Suggestion { doctype: best.to_string(), confidence: round3(score / (total + DOUBT)), like })
    }
}

impl Index {
    /// The query's similarity to type `ty`'s centroid without example `e` in it, from its
    /// similarity `with` to the centroid and `to_e` to the example: the centroid is the unit
    /// vector of `sum`, and ⟨q, sum − e⟩ = with·|sum| − to_e, |sum − e|² = |sum|² − 2⟨sum, e⟩ + 1.
    fn score_without(&self, ty: usize, e: &Example, with: f64, to_e: f64) -> f64 {
        let weights: Vec<f64> = e.counts.iter().map(|(t, c)| tf(*c) * self.idf[*t as usize]).collect();
        let e_norm = weights.iter().map(|w| w * w).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
        let length = self.centroid_lengths[ty];
        let along: f64 = e
            .counts
            .iter()
            .zip(&weights)
            .filter_map(|((t, _), w)| {
                let c = self.centroids[*t as usize].iter().find(|(x, _)| *x as usize == ty)?.1 as f64;
                Some(w / e_norm * c * length)
            })
            .sum();
        let rest = length * length - 2.0 * along + 1.0;
        // Nothing else of the type: no centroid is left.
        if rest > 1e-9 { (with * length - to_e) / rest.sqrt() } else { 0.0 }
    }
}

/// Sublinear term frequency: the tenth "invoice" says less than the first.
fn tf(count: u32) -> f64 {
    1.0 + (count as f64).ln()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filed() -> Model {
        let mut m = Model::default();
        m.file(1, "acme-invoice", "ACME Widgets GmbH Rechnung Nr 1 Widget blue Summe EUR IBAN DE89370400440532013000");
        m.file(2, "acme-invoice", "ACME Widgets GmbH Rechnung Nr 2 Widget red Summe EUR IBAN DE89370400440532013000");
        m.file(3, "globex-statement", "Globex Corporation account statement balance brought forward closing balance");
        m.file(4, "globex-statement", "Globex Corporation account statement opening balance closing balance");
        m
    }

    #[test]
    fn the_type_of_the_most_similar_filed_documents_is_suggested() {
        let mut m = filed();
        let s = m.suggest("Rechnung Nr 7 ACME Widgets GmbH Widget green Summe EUR", None).unwrap();
        assert_eq!(s.doctype, "acme-invoice");
        assert!(s.confidence > 0.5, "{s:?}");
        assert_eq!(s.like.iter().map(|n| n.document_id).collect::<Vec<_>>().len(), 2);
        let g = m.suggest("Globex Corporation statement of account, closing balance", None).unwrap();
        assert_eq!(g.doctype, "globex-statement");
    }

    #[test]
    fn nothing_is_suggested_for_a_text_like_nothing_filed() {
        let mut m = filed();
        assert_eq!(m.suggest("Dear Sir, thank you for your letter about the garden party.", None), None);
        assert_eq!(Model::default().suggest("ACME Widgets GmbH Rechnung", None), None);
    }

    #[test]
    fn more_and_closer_neighbours_mean_more_confidence() {
        let mut m = filed();
        let one = m.suggest("Globex Corporation", None).unwrap().confidence;
        for id in 10..18 {
            m.file(id, "globex-statement", "Globex Corporation account statement closing balance");
        }
        let many = m.suggest("Globex Corporation account statement closing balance", None).unwrap().confidence;
        assert!(one < many && many < 1.0, "{one} {many}");
    }

    #[test]
    fn filing_again_replaces_and_excluding_leaves_a_document_out() {
        let mut m = filed();
        m.file(1, "misfiled", "ACME Widgets GmbH Rechnung Nr 1 Widget blue Summe EUR IBAN DE89370400440532013000");
        assert_eq!(m.len(), 4);
        let s = m.suggest("ACME Widgets GmbH Rechnung Nr 1 Widget blue Summe EUR IBAN DE89370400440532013000", Some(1)).unwrap();
        assert_eq!((s.doctype.as_str(), s.like[0].document_id), ("acme-invoice", 2));
    }

    #[test]
    fn forgetting_the_oldest_keeps_the_rest_working() {
        let mut m = Model::default();
        for id in 0..(MAX_EXAMPLES as i64 + 1) {
            let ty = if id % 2 == 0 { "even" } else { "odd" };
            m.file(id, ty, &format!("{ty} word{} common", id % 7));
        }
        assert_eq!(m.len(), MAX_EXAMPLES + 1 - MAX_EXAMPLES / 10);
        assert_eq!(m.suggest("odd word3", None).unwrap().doctype, "odd");
    }
}
