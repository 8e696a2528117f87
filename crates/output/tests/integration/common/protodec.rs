//! A generic Protocol Buffers decoder for checking what the outputs sent:
//! a message is a list of `(field, value)`.

#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug, Default)]
pub struct Msg(pub Vec<(u32, Val)>);

fn varint(b: &[u8], i: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let byte = b[*i];
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

impl Msg {
    pub fn parse(b: &[u8]) -> Msg {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let key = varint(b, &mut i);
            let (field, wire) = ((key >> 3) as u32, key & 7);
            let v = match wire {
                0 => Val::Varint(varint(b, &mut i)),
                1 => {
                    let v = u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
                    i += 8;
                    Val::Fixed64(v)
                }
                2 => {
                    let n = varint(b, &mut i) as usize;
                    let v = b[i..i + n].to_vec();
                    i += n;
                    Val::Bytes(v)
                }
                5 => {
                    let v = u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
                    i += 4;
                    Val::Fixed32(v)
                }
                w => panic!("wire type {w}"),
            };
            out.push((field, v));
        }
        Msg(out)
    }

    pub fn all(&self, field: u32) -> impl Iterator<Item = &Val> {
        self.0
            .iter()
            .filter(move |(f, _)| *f == field)
            .map(|(_, v)| v)
    }

    pub fn msgs(&self, field: u32) -> Vec<Msg> {
        self.all(field)
            .map(|v| match v {
                Val::Bytes(b) => Msg::parse(b),
                other => panic!("field {field} is {other:?}"),
            })
            .collect()
    }

    pub fn msg(&self, field: u32) -> Option<Msg> {
        self.msgs(field).into_iter().next()
    }

    pub fn string(&self, field: u32) -> String {
        match self.all(field).next() {
            Some(Val::Bytes(b)) => String::from_utf8(b.clone()).unwrap(),
            _ => String::new(),
        }
    }

    pub fn uint(&self, field: u32) -> u64 {
        match self.all(field).next() {
            Some(Val::Varint(v)) | Some(Val::Fixed64(v)) => *v,
            _ => 0,
        }
    }

    pub fn double(&self, field: u32) -> Option<f64> {
        match self.all(field).next() {
            Some(Val::Fixed64(v)) => Some(f64::from_bits(*v)),
            _ => None,
        }
    }

    /// A packed `repeated fixed64`.
    pub fn packed_u64(&self, field: u32) -> Vec<u64> {
        match self.all(field).next() {
            Some(Val::Bytes(b)) => b
                .chunks(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            _ => Vec::new(),
        }
    }
}
