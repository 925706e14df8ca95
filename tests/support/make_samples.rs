//! Makes the sample documents in `samples/` (run from the repository root):
//!
//!     cargo run --example make-samples
//!
//! Text PDFs are written with lopdf; scans are those PDFs rendered by poppler's `pdftoppm`
//! (apt: poppler-utils) and saved as PNG, multi-page TIFF and an image-only PDF. The broken files
//! are broken on purpose. The encrypted PDF needs `qpdf`.

use image::{GrayImage, ImageEncoder};
use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream};
use std::path::Path;
use std::process::Command;

type Line = (f32, f32, f32, &'static str); // x, y (from top), size, text

fn text_pdf(pages: &[Vec<Line>]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let bold = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica-Bold", "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font, "F2" => bold } });
    let mut kids = vec![];
    for lines in pages {
        let mut ops = vec![];
        for &(x, y, size, text) in lines {
            let f = if size > 12.0 { "F2" } else { "F1" };
            ops.push(Operation::new("BT", vec![]));
            ops.push(Operation::new("Tf", vec![f.into(), size.into()]));
            ops.push(Operation::new("Td", vec![x.into(), (842.0 - y).into()]));
            let latin1: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
            ops.push(Operation::new("Tj", vec![Object::string_literal(latin1)]));
            ops.push(Operation::new("ET", vec![]));
        }
        let content = doc.add_object(
            Stream::new(dictionary! {}, Content { operations: ops }.encode().unwrap()).with_compression(true),
        );
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Contents" => content, "Resources" => resources,
        });
        kids.push(page.into());
    }
    let count = kids.len() as i64;
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    doc.compress();
    let mut out = vec![];
    doc.save_to(&mut out).unwrap();
    out
}

/// A PDF whose only page is a JPEG scan, as a scanner makes them.
fn image_pdf(img: &GrayImage) -> Vec<u8> {
    let mut jpeg = vec![];
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8)
        .unwrap();
    let dict = dictionary! {
        "Type" => "XObject", "Subtype" => "Image", "Width" => img.width() as i64, "Height" => img.height() as i64,
        "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
    };
    scan_pdf(Stream::new(dict, jpeg))
}

/// A PDF whose only page is a black-and-white CCITT Group 4 scan, as office scanners make them.
fn fax_pdf(img: &GrayImage) -> Vec<u8> {
    let (w, h) = (img.width() as u16, img.height() as u16);
    let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
    for row in img.rows() {
        let pels = row.map(|p| if p.0[0] < 160 { fax::Color::Black } else { fax::Color::White });
        enc.encode_line(pels, w).unwrap();
    }
    let data = enc.finish().unwrap().finish();
    let dict = dictionary! {
        "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64, "Height" => h as i64,
        "ColorSpace" => "DeviceGray", "BitsPerComponent" => 1, "Filter" => "CCITTFaxDecode",
        "DecodeParms" => dictionary! { "K" => -1, "Columns" => w as i64, "Rows" => h as i64 },
    };
    scan_pdf(Stream::new(dict, data))
}

fn scan_pdf(image: Stream) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let image = doc.add_object(image);
    let ops = Content {
        operations: vec![
            Operation::new("q", vec![]),
            Operation::new("cm", vec![595.into(), 0.into(), 0.into(), 842.into(), 0.into(), 0.into()]),
            Operation::new("Do", vec!["Im1".into()]),
            Operation::new("Q", vec![]),
        ],
    };
    let content = doc.add_object(Stream::new(dictionary! {}, ops.encode().unwrap()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content, "Resources" => dictionary! { "XObject" => dictionary! { "Im1" => image } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = vec![];
    doc.save_to(&mut out).unwrap();
    out
}

fn render(pdf: &Path, dpi: u32) -> Vec<GrayImage> {
    let dir = std::env::temp_dir().join(format!("clerk-samples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("page");
    let ok = Command::new("pdftoppm").args(["-r", &dpi.to_string(), "-gray", "-png"]).arg(pdf).arg(&prefix).status();
    assert!(ok.map(|s| s.success()).unwrap_or(false), "pdftoppm failed: apt-get install poppler-utils");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let pages = files.iter().map(|f| image::open(f).unwrap().into_luma8()).collect();
    std::fs::remove_dir_all(&dir).unwrap();
    pages
}

fn write_tiff(path: &Path, pages: &[GrayImage]) {
    use tiff::encoder::{colortype, TiffEncoder};
    let mut enc = TiffEncoder::new(std::fs::File::create(path).unwrap())
        .unwrap()
        .with_compression(tiff::encoder::Compression::Lzw);
    for p in pages {
        enc.write_image::<colortype::Gray8>(p.width(), p.height(), p.as_raw()).unwrap();
    }
}

const ACME: &[Line] = &[
    (50.0, 60.0, 18.0, "ACME Supplies Ltd."),
    (430.0, 60.0, 18.0, "INVOICE"),
    (50.0, 80.0, 10.0, "12 Industrial Way, Leeds LS1 4AB, United Kingdom"),
    (330.0, 120.0, 10.0, "Invoice No: INV-2024-0042"),
    (330.0, 135.0, 10.0, "Date: 03.04.2024"),
    (50.0, 120.0, 10.0, "Bill to: Northwind Traders GmbH"),
    (50.0, 135.0, 10.0, "Hauptstrasse 5, 10115 Berlin"),
    (50.0, 190.0, 10.0, "Description"),
    (300.0, 190.0, 10.0, "Qty"),
    (380.0, 190.0, 10.0, "Unit price"),
    (480.0, 190.0, 10.0, "Amount"),
    (50.0, 210.0, 10.0, "Paper A4 80g (box)"),
    (300.0, 210.0, 10.0, "10"),
    (380.0, 210.0, 10.0, "24.50"),
    (480.0, 210.0, 10.0, "245.00"),
    (50.0, 225.0, 10.0, "Toner cartridge TN-2420"),
    (300.0, 225.0, 10.0, "2"),
    (380.0, 225.0, 10.0, "89.90"),
    (480.0, 225.0, 10.0, "179.80"),
    (380.0, 260.0, 10.0, "Subtotal:"),
    (480.0, 260.0, 10.0, "424.80"),
    (380.0, 275.0, 10.0, "VAT 20%:"),
    (480.0, 275.0, 10.0, "84.96"),
    (380.0, 290.0, 10.0, "Total Due:"),
    (440.0, 290.0, 10.0, "EUR"),
    (480.0, 290.0, 10.0, "509.76"),
    (50.0, 340.0, 10.0, "Please pay within 30 days to IBAN DE89 3704 0044 0532 0130 00"),
    (50.0, 355.0, 10.0, "Thank you for your business."),
];

const GLOBEX_1: &[Line] = &[
    (50.0, 60.0, 18.0, "Globex Corporation"),
    (50.0, 80.0, 10.0, "1 Globex Plaza, Springfield, OR 97403, USA"),
    (380.0, 60.0, 18.0, "Invoice"),
    (380.0, 100.0, 10.0, "Invoice Number: 7781"),
    (380.0, 115.0, 10.0, "Date: 2024-05-17"),
    (50.0, 160.0, 10.0, "Item"),
    (400.0, 160.0, 10.0, "Amount"),
    (50.0, 180.0, 10.0, "Consulting services, April 2024"),
    (400.0, 180.0, 10.0, "1,000.00"),
    (50.0, 195.0, 10.0, "Travel expenses"),
    (400.0, 195.0, 10.0, "234.56"),
    (50.0, 800.0, 8.0, "Page 1 of 2 - continued overleaf"),
];
const GLOBEX_2: &[Line] = &[
    (50.0, 60.0, 10.0, "Globex Corporation - Invoice 7781 (continued)"),
    (300.0, 120.0, 10.0, "Total Due: USD 1,234.56"),
    (50.0, 160.0, 10.0, "Pay by wire: IBAN GB29 NWBK 6016 1331 9268 19"),
    (50.0, 800.0, 8.0, "Page 2 of 2"),
];

const INITECH: &[Line] = &[
    (50.0, 60.0, 18.0, "Initech GmbH"),
    (400.0, 60.0, 18.0, "INVOICE"),
    (50.0, 100.0, 12.0, "Invoice No: R-5521"),
    (50.0, 120.0, 12.0, "Date: 21.06.2024"),
    (50.0, 170.0, 12.0, "TPS report cover sheets, 500 pieces"),
    (50.0, 220.0, 14.0, "Total Due: EUR 2.345,60"),
    (50.0, 260.0, 12.0, "IBAN DE44 5001 0517 5407 3249 31"),
];

const CREDIT_NOTE: &[Line] = &[
    (50.0, 60.0, 18.0, "ACME Supplies Ltd."),
    (400.0, 60.0, 18.0, "CREDIT NOTE"),
    (50.0, 110.0, 10.0, "Credit Note No: CN-0007"),
    (50.0, 125.0, 10.0, "Date: 15.04.2024"),
    (50.0, 140.0, 10.0, "Refers to invoice INV-2024-0042"),
    (50.0, 180.0, 10.0, "Returned: Toner cartridge TN-2420, damaged in transit"),
    (50.0, 210.0, 10.0, "Credit Amount: EUR 89.90"),
];

const INCOMPLETE: &[Line] = &[
    (50.0, 60.0, 18.0, "Umbrella Facilities"),
    (400.0, 60.0, 18.0, "INVOICE"),
    (50.0, 110.0, 10.0, "Date: 2024-07-01"),
    (50.0, 160.0, 10.0, "Cleaning services, June 2024"),
    (50.0, 200.0, 10.0, "Amount Due: EUR to be confirmed"),
];

const LETTER: &[Line] = &[
    (50.0, 60.0, 12.0, "Northwind Traders GmbH"),
    (50.0, 110.0, 10.0, "Dear colleagues,"),
    (50.0, 130.0, 10.0, "the summer party takes place on 12 July in the courtyard."),
    (50.0, 145.0, 10.0, "Please tell the front desk by Friday whether you will come."),
    (50.0, 175.0, 10.0, "Kind regards, the social committee"),
];

fn main() {
    let out = Path::new("samples");
    let broken = out.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(out.join(name), bytes).unwrap();

    let acme = text_pdf(&[ACME.to_vec()]);
    write("invoice-acme.pdf", &acme);
    write("invoice-globex.pdf", &text_pdf(&[GLOBEX_1.to_vec(), GLOBEX_2.to_vec()]));
    write("credit-note-acme.pdf", &text_pdf(&[CREDIT_NOTE.to_vec()]));
    write("invoice-incomplete.pdf", &text_pdf(&[INCOMPLETE.to_vec()]));
    write("letter-unknown.pdf", &text_pdf(&[LETTER.to_vec()]));
    write(
        "delivery-note.txt",
        b"DELIVERY NOTE\n\nDelivery Note No: DN-3310\nDate: 2024-04-02\nShip to: Northwind Traders GmbH, Hauptstrasse 5, 10115 Berlin\n\n  10  Paper A4 80g (box)\n   2  Toner cartridge TN-2420\n\nReceived in good order: ____________\n",
    );

    // Scans: render text PDFs as a scanner would deliver them.
    let tmp = std::env::temp_dir().join("clerk-initech.pdf");
    std::fs::write(&tmp, text_pdf(&[INITECH.to_vec()])).unwrap();
    let initech = render(&tmp, 150).remove(0);
    write("invoice-initech-scan.pdf", &image_pdf(&initech));
    let credit_pdf = std::env::temp_dir().join("clerk-credit.pdf");
    std::fs::write(&credit_pdf, text_pdf(&[CREDIT_NOTE.to_vec()])).unwrap();
    write("credit-note-acme-fax.pdf", &fax_pdf(&render(&credit_pdf, 200).remove(0)));
    let acme_pdf = out.join("invoice-acme.pdf");
    render(&acme_pdf, 200).remove(0).save(out.join("invoice-acme-scan.png")).unwrap();
    write_tiff(&out.join("invoice-globex-scan.tiff"), &render(&out.join("invoice-globex.pdf"), 150));

    // Broken on purpose.
    std::fs::write(broken.join("empty.pdf"), b"").unwrap();
    std::fs::write(broken.join("truncated.pdf"), &acme[..acme.len() / 3]).unwrap();
    let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(broken.join("junk.pdf"), junk).unwrap();
    // A PNG header claiming 60000×60000 pixels, with no pixel data behind it.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(60000u32.to_be_bytes());
    ihdr.extend(60000u32.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    // A few bytes of image data and a proper end, so only the claimed size is wrong.
    let idat = [b"IDAT".as_slice(), &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]].concat();
    png.extend(((idat.len() - 4) as u32).to_be_bytes());
    png.extend(&idat);
    png.extend(crc32(&idat).to_be_bytes());
    png.extend(0u32.to_be_bytes());
    png.extend(b"IEND");
    png.extend(crc32(b"IEND").to_be_bytes());
    std::fs::write(broken.join("huge-60000x60000.png"), png).unwrap();
    let mut tiff = std::fs::read(out.join("invoice-globex-scan.tiff")).unwrap();
    tiff.truncate(600);
    std::fs::write(broken.join("corrupt.tiff"), tiff).unwrap();
    // Restricted against printing and editing, but no password to open: must be read.
    let restricted = out.join("invoice-acme-restricted.pdf");
    let ok = Command::new("qpdf")
        .args(["--encrypt", "", "owner-secret", "256", "--print=none", "--modify=none", "--"])
        .arg(&acme_pdf)
        .arg(&restricted)
        .status();
    assert!(ok.map(|s| s.success()).unwrap_or(false), "qpdf failed: apt-get install qpdf");
    let encrypted = broken.join("encrypted.pdf");
    let ok = Command::new("qpdf")
        .args(["--encrypt", "secret", "owner-secret", "256", "--"])
        .arg(&acme_pdf)
        .arg(&encrypted)
        .status();
    assert!(ok.map(|s| s.success()).unwrap_or(false), "qpdf failed: apt-get install qpdf");
    println!("samples written to {}", out.display());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}
