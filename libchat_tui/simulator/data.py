"""What simulated patrons are called and what they ask: names, topics, question templates.

Plain data for `simulator.py`. Templates use `{slot}` fields filled from `SLOTS`.
Every topic has questions, follow-ups (said in later turns), and answers to likely
librarian questions, keyed by a word the librarian's question contains.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """One kind of reference question."""

    questions: tuple[str, ...]
    follow_ups: tuple[str, ...]
    answers: tuple[tuple[str, str], ...] = ()


FIRST_NAMES = (
    "Maya", "Liam", "Aisha", "Noah", "Sofia", "Mateo", "Priya", "Ethan", "Fatima", "Lucas",
    "Hana", "Oliver", "Zainab", "Diego", "Emma", "Kwame", "Yuki", "Jonas", "Amara", "Chen",
    "Isabella", "Omar", "Leila", "Tomás", "Grace", "Arjun", "Nia", "Felix", "Mei", "Samuel",
    "Chloe", "Ravi", "Ingrid", "Kofi", "Lucía", "Daniel", "Anya", "Malik", "Rosa", "Tariq",
)
LAST_NAMES = (
    "Reyes", "Okafor", "Nguyen", "Schmidt", "Haddad", "Kowalski", "Patel", "O'Brien", "Tanaka",
    "Silva", "Mensah", "Johansson", "Kim", "García", "Novak", "Abubakar", "Rossi", "Lindqvist",
    "Chowdhury", "Murphy", "Petrov", "Alvarez", "Osei", "Dubois", "Yamamoto", "Hughes",
    "Mbeki", "Fischer", "Costa", "Lee",
)

EMAIL_DOMAINS = ("students.example.edu", "example.edu", "mail.example.com", "example.org")
THANKS = ("Thank you so much, that's really helpful!", "Great, thanks for your help!",
          "Perfect, that answers it. Thanks!", "Thanks a lot, have a nice day.",
          "Okay, I'll try that. Thank you!")
ACKS = ("Okay, that makes sense.", "Let me try that.", "Oh, I didn't know that.",
        "Hmm, okay.", "Got it.")
SORRY = ("Sorry, my wifi dropped. I'm back.", "Sorry about that, lost my connection!",
         "I'm back, my laptop went to sleep.")

SLOTS: dict[str, tuple[str, ...]] = {
    "day": ("Sunday", "Saturday", "Labor Day", "the Friday before exams", "New Year's Eve"),
    "branch": ("main library", "science library", "music library", "law library",
               "health sciences library"),
    "break_": ("spring break", "the winter holidays", "reading week", "the summer"),
    "title": ("The Structure of Scientific Revolutions", "Beloved", "Thinking, Fast and Slow",
              "Introduction to Algorithms", "The Souls of Black Folk", "Silent Spring",
              "Pedagogy of the Oppressed", "Gödel, Escher, Bach"),
    # Each title's author, in the same order (a template naming both pairs them: AUTHOR_OF).
    "author": ("Thomas Kuhn", "Toni Morrison", "Daniel Kahneman", "Cormen et al.",
               "W. E. B. Du Bois", "Rachel Carson", "Paulo Freire", "Douglas Hofstadter"),
    "database": ("JSTOR", "PubMed", "Web of Science", "PsycINFO", "ProQuest", "Scopus",
                 "Nexis Uni"),
    "style": ("APA 7th edition", "MLA 9", "Chicago author-date", "Harvard"),
    "source_kind": ("YouTube video", "government report", "chapter in an edited book",
                    "website with no date", "tweet", "dataset"),
    "status": ("undergraduate", "graduate student", "staff member", "alumnus", "visiting scholar"),
    "floor": ("second", "third", "ground", "fourth"),
    "course": ("PSYC 101", "HIST 240", "BIOL 210", "ENGL 102", "ECON 305", "NURS 330"),
    "subject": ("climate migration", "social media and teen mental health",
                "microplastics in rivers", "the Harlem Renaissance", "minimum wage and employment",
                "antibiotic resistance", "remote work productivity", "urban heat islands"),
}

#: Who wrote each title: "Do you have Beloved by Toni Morrison?", never a stranger's name.
AUTHOR_OF: dict[str, str] = dict(zip(SLOTS["title"], SLOTS["author"], strict=True))

COMMON_ANSWERS: tuple[tuple[str, str], ...] = (
    ("student", "I'm a {status}."),
    ("affiliat", "I'm a {status}."),
    ("course", "It's for {course}."),
    ("class", "It's for {course}."),
    ("catalog", "I tried the catalog search but I wasn't sure which result was right."),
    ("tried", "I tried Google first, but it wanted me to pay for everything."),
    ("due", "My assignment is due next week."),
)

TOPICS: dict[str, Topic] = {
    "hours": Topic(
        ("Is the library open on {day}?", "What time does the {branch} close tonight?",
         "Are you open during {break_}?", "Is the {branch} open 24 hours during finals?"),
        ("Does that include the {branch}?", "Do I need my ID card to get in late at night?",
         "Is the café open then too?"),
        (("which", "The {branch}, please."),),
    ),
    "find_book": Topic(
        ("Do you have {title} by {author}?",
         "The catalog says {title} is on the shelf but I can't find it. Can you help?",
         "Is there an ebook version of {title}?",
         "Can I put a hold on {title}? It's checked out."),
        ("What does the call number mean exactly?", "How long is the loan period?",
         "Can I pick it up at the {branch} instead?"),
        (("edition", "Any edition is fine."), ("ebook", "An ebook would be even better.")),
    ),
    "databases": Topic(
        ("How do I get into {database} from home?",
         "{database} keeps asking me to log in when I'm off-campus. What do I do?",
         "The link to {database} gives me a proxy error.",
         "I found an article on Google Scholar but it wants $39. Can I get it through you?"),
        ("Which username do I use, my student one?", "It worked! Can I download the PDF too?",
         "Is there an app for that database?"),
        (("browser", "I'm using Firefox."), ("vpn", "No, I'm not on the VPN."),
         ("error", "It says 'authentication failed'.")),
    ),
    "citations": Topic(
        ("How do I cite a {source_kind} in {style}?",
         "Does {style} need a DOI for journal articles?",
         "How do I cite a source with no author in {style}?",
         "Can you check whether my reference list is in {style} format?"),
        ("What about in-text citations?", "Do I italicize the title?",
         "Is there a tool that formats citations automatically?"),
        (("style", "My professor wants {style}."),),
    ),
    "ill": Topic(
        ("Can I get a book from another library?",
         "How long does interlibrary loan take for an article?",
         "My interlibrary loan request for {title} still says pending.",
         "Is interlibrary loan free for a {status}?"),
        ("Will I get an e-mail when it arrives?", "Can I renew an interlibrary loan book?",
         "Where do I pick it up?"),
        (("when", "I need it in about two weeks."), ("article", "It's a book chapter actually.")),
    ),
    "printing": Topic(
        ("How do I print from my laptop?", "The printer on the {floor} floor is jammed.",
         "Can I scan to e-mail at the library?", "How much does colour printing cost?"),
        ("Can I pay with my card?", "Is there a stapler near the printers?",
         "Can I print double-sided?"),
        (("mac", "I'm on a Windows laptop."), ("floor", "The {floor} floor.")),
    ),
    "rooms": Topic(
        ("How do I book a group study room for {day}?",
         "Can I book a room for more than two hours?",
         "Is there a room with a big screen to practise a presentation?"),
        ("How many people fit in it?", "Can I cancel a booking online?",
         "Do I need to check in when I arrive?"),
        (("how many", "There are five of us."), ("time", "Around 3 pm if possible.")),
    ),
    "renewals": Topic(
        ("How do I renew my books?",
         "I have a fine for {title}, but I returned it on time. Can it be waived?",
         "Why can't I renew {title}?", "What happens if I lose a library book?"),
        ("Is there a limit to how many times I can renew?", "Will the fine block my account?",
         "Can I pay the fine online?"),
        (("return", "I returned it in the book drop on Monday."),),
    ),
    "reserves": Topic(
        ("Where do I find the course reserves for {course}?",
         "My professor put the textbook for {course} on reserve. How long can I borrow it?",
         "Are the readings for {course} available online?"),
        ("Can I take it out of the building?", "Can I scan a chapter from it?",
         "What if somebody else already has it?"),
        (("professor", "Professor Alvarez, I think."),),
    ),
    "thesis": Topic(
        ("Where can I find the thesis formatting guidelines?",
         "How do I submit my thesis to the repository?",
         "Do thesis margins have to be a specific size?"),
        ("Is there a template for Word?", "Can I embargo my thesis for a year?",
         "Who approves the final PDF?"),
        (("master", "It's a master's thesis."), ("deadline", "I'm defending next month.")),
    ),
    "research": Topic(
        ("I need peer-reviewed articles on {subject} for a paper. Where do I start?",
         "Can you help me find statistics on {subject}?",
         "I'm writing a literature review on {subject}. Which databases should I use?",
         "I search for {subject} and get thousands of results. How do I narrow it down?",
         "Do you have primary sources about {subject}?"),
        ("How do I limit it to the last five years?", "What keywords would you suggest?",
         "Can I save my searches somewhere?", "Is {database} a good place to look?"),
        (("keyword", "I've been using just '{subject}'."), ("how long", "About ten pages."),
         ("peer", "Yes, they have to be peer-reviewed.")),
    ),
    "accessibility": Topic(
        ("Do you have a quiet room with assistive technology?",
         "Can I get a book in an accessible format through my disability accommodation?",
         "Is the {branch} wheelchair accessible?",
         "Can someone help me get books from the high shelves?"),
        ("Do I need to book it ahead?",
         "Is there screen-reading software on the library computers?",
         "Which entrance has the ramp?"),
        (("format", "A screen-reader friendly PDF would work."),),
    ),
    "account": Topic(
        ("I forgot my library PIN.", "My library account says it's blocked. Why?",
         "How do I get a library card as an alumnus?"),
        ("Can I do that online?", "Do I need to bring ID?", "How long does it take?"),
        (("card", "My card number starts with 2100."),),
    ),
}

