//! The journeys and templates an engine runs: the built-in ones, replaced by a clinic's
//! own files of the same name. Everything is checked at load: a journey that sends a
//! template nobody wrote is refused, naming the file and the step.

use std::collections::BTreeMap;

use careloop_domain::AppointmentEvent;
use careloop_domain::journey::{self, Action, Journey};
use careloop_domain::template::{self, Templates};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LibraryError {
    #[error(transparent)]
    Journey(#[from] journey::DefinitionError),
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error("{file}: step '{step}', field 'send.template': no template named '{template}'")]
    MissingTemplate {
        file: String,
        step: String,
        template: String,
    },
}

#[derive(Debug)]
pub struct Library {
    /// By name: a clinic's file replaces the built-in one of the same name.
    journeys: BTreeMap<String, (String, Journey)>,
    pub templates: Templates,
}

impl Library {
    /// The built-in journeys and templates.
    pub fn builtin() -> Result<Self, LibraryError> {
        Self::load(&[], None)
    }

    /// The built-in journeys and templates, with `journey_files` (`(file name, text)`)
    /// added or replacing built-in ones by name, and `templates` (a file) replacing the
    /// built-in templates when given.
    pub fn load(
        journey_files: &[(String, String)],
        templates: Option<(&str, &str)>,
    ) -> Result<Self, LibraryError> {
        let (file, text) = templates.unwrap_or(template::BUILTIN);
        let templates = Templates::parse(file, text)?;
        let mut journeys = BTreeMap::new();
        let builtin = journey::builtin::BUILTIN
            .iter()
            .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()));
        for (file, text) in builtin.chain(journey_files.iter().cloned()) {
            let journey = journey::parse(&file, &text)?;
            journeys.insert(journey.name.clone(), (file, journey));
        }
        let library = Self {
            journeys,
            templates,
        };
        library.check_templates()?;
        Ok(library)
    }

    fn check_templates(&self) -> Result<(), LibraryError> {
        let known: Vec<&str> = self.templates.names().collect();
        for (file, journey) in self.journeys.values() {
            for step in &journey.steps {
                if let Action::Send { template, .. } = &step.action
                    && !known.contains(&template.as_str())
                {
                    return Err(LibraryError::MissingTemplate {
                        file: file.clone(),
                        step: step.id.clone(),
                        template: template.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Journey> {
        self.journeys.get(name).map(|(_, j)| j)
    }

    /// The journeys an event enrolls patients in.
    pub fn triggered_by(&self, event: AppointmentEvent) -> impl Iterator<Item = &Journey> {
        self.journeys
            .values()
            .map(|(_, j)| j)
            .filter(move |j| j.trigger == event)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.journeys.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_library_loads() {
        let library = Library::builtin().unwrap();
        assert_eq!(
            library.names().collect::<Vec<_>>(),
            [
                "appointment-cancelled",
                "appointment-reminders",
                "appointment-rescheduled"
            ]
        );
        assert_eq!(library.triggered_by(AppointmentEvent::Booked).count(), 1);
    }

    #[test]
    fn a_clinic_file_replaces_the_builtin_journey_of_its_name() {
        let own = "name = \"appointment-reminders\"\ntrigger = \"appointment.booked\"\n[[steps]]\nsend = { template = \"reminder_72h\", channel = \"email\" }\n";
        let library = Library::load(&[("mine.toml".into(), own.into())], None).unwrap();
        assert_eq!(library.get("appointment-reminders").unwrap().steps.len(), 1);
    }

    #[test]
    fn the_readme_example_journey_loads() {
        let readme = include_str!("../../../README.md");
        let section = readme.split("### Journey definitions").nth(1).unwrap();
        let example = section
            .split("```toml\n")
            .nth(1)
            .unwrap()
            .split("```")
            .next()
            .unwrap();
        let renamed = example.replace("appointment-reminders", "readme-example");
        let library = Library::load(&[("example.toml".into(), renamed)], None).unwrap();
        assert_eq!(library.get("readme-example").unwrap().steps.len(), 7);
    }

    #[test]
    fn a_journey_sending_an_unknown_template_is_refused_by_file_and_step() {
        let own = "name = \"x\"\ntrigger = \"appointment.booked\"\n[[steps]]\nid = \"hello\"\nsend = { template = \"nope\", channel = \"sms\" }\n";
        let error = Library::load(&[("x.toml".into(), own.into())], None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "x.toml: step 'hello', field 'send.template': no template named 'nope'"
        );
    }
}
