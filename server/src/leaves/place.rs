//! A community as its pages name it (issue 28): the compound's display
//! name on page headers, cards, the poster and the authenticator entry, and
//! the city's short name in 返沪/来沪 (default 本市), which the words hold
//! as `{city}` so a compound outside Shanghai can use them as worded.

/// At most this many characters in a display name, and in a city's name.
pub const NAME_CHARS: usize = 30;
pub const CITY_CHARS: usize = 8;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    /// The compound's display name; empty: its id is shown.
    pub name: String,
    /// The city's short name (沪, 京, 苏州); empty: 本市.
    pub city: String,
}

impl Place {
    /// A display name and city as typed, trimmed, or the detail key
    /// ([`crate::leaves::detail`]) of what is wrong with them.
    pub fn check(name: &str, city: &str) -> Result<Place, &'static str> {
        let (name, city) = (name.trim(), city.trim());
        // Braces would read as a placeholder in the words around them.
        let odd = |s: &str| s.chars().any(|c| c.is_control() || c == '{' || c == '}');
        if name.chars().count() > NAME_CHARS || odd(name) {
            return Err("err_place_name");
        }
        if city.chars().count() > CITY_CHARS || odd(city) {
            return Err("err_place_city");
        }
        Ok(Place { name: name.to_string(), city: city.to_string() })
    }

    pub fn city(&self) -> &str {
        if self.city.is_empty() {
            "本市"
        } else {
            &self.city
        }
    }

    /// The display name, or `id` when the committee has not set one.
    pub fn name_or<'a>(&'a self, id: &'a str) -> &'a str {
        if self.name.is_empty() {
            id
        } else {
            &self.name
        }
    }

    /// `words` with the city filled in where they say `{city}`.
    pub fn say(&self, words: &str) -> String {
        words.replace("{city}", self.city())
    }
}

#[cfg(test)]
mod tests {
    use super::Place;

    #[test]
    fn the_city_defaults_to_this_city_and_fills_the_words() {
        let none = Place::default();
        assert_eq!(none.say("返{city}人员"), "返本市人员");
        let sh = Place::check(" 莲花小区 ", "沪").unwrap();
        assert_eq!(sh.say("返{city}人员"), "返沪人员");
        assert_eq!(sh.name_or("lotus"), "莲花小区");
        assert_eq!(none.name_or("lotus"), "lotus");
    }

    #[test]
    fn a_name_too_long_or_with_braces_is_refused() {
        assert_eq!(Place::check(&"花".repeat(31), ""), Err("err_place_name"));
        assert_eq!(Place::check("莲花", "{city}"), Err("err_place_city"));
        assert!(Place::check(&"花".repeat(30), "苏州").is_ok());
    }
}
