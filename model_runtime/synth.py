"""A small synthetic resume generator, so the stack trains without any external data.

Everything is invented from the lists below (no real people). Spans are recorded while the
text is assembled, so offsets are exact by construction.
"""

from __future__ import annotations

import random

from .data import LabeledDoc, Span
from .entities import LABELS

FIRST = [
    "Aarav",
    "Priya",
    "Rahul",
    "Ananya",
    "Vikram",
    "Sneha",
    "Arjun",
    "Kavya",
    "Rohan",
    "Meera",
    "Daniel",
    "Laura",
    "Marco",
    "Sofia",
    "Chen",
    "Yuki",
    "Omar",
    "Fatima",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Ivan",
    "Elena",
]
LAST = [
    "Sharma",
    "Patel",
    "Iyer",
    "Reddy",
    "Nair",
    "Gupta",
    "Kulkarni",
    "Mehta",
    "Brown",
    "Garcia",
    "Rossi",
    "Muller",
    "Wang",
    "Tanaka",
    "Haddad",
    "Silva",
    "Novak",
    "Jensen",
    "Okafor",
    "Kowalski",
]
CITIES = [
    "Bangalore, Karnataka",
    "Pune, Maharashtra",
    "Hyderabad, Telangana",
    "Chennai, Tamil Nadu",
    "Mumbai",
    "New Delhi",
    "Noida",
    "Gurgaon",
    "Austin, TX",
    "Seattle, WA",
    "London",
    "Berlin",
    "Toronto, ON",
    "Singapore",
]
TITLES = [
    "Software Engineer",
    "Senior Software Engineer",
    "Data Analyst",
    "Data Scientist",
    "Project Manager",
    "Business Analyst",
    "QA Engineer",
    "Test Engineer",
    "DevOps Engineer",
    "Java Developer",
    "Python Developer",
    "Frontend Developer",
    "System Administrator",
    "Technical Lead",
    "Product Manager",
    "Sales Executive",
    "HR Executive",
    "Network Engineer",
    "Consultant",
    "Associate Consultant",
]
COMPANIES = [
    "Northwind Technologies",
    "Bluepeak Solutions Pvt Ltd",
    "Orion Systems",
    "Crestline Software Inc.",
    "Maple Analytics",
    "Vertex Infotech Ltd",
    "Quantum Labs",
    "Silverline Consulting",
    "Helix Data Services",
    "Pinecone Networks",
    "Redwood Retail Ltd",
    "Summit Financial Services",
    "Aurora Health Systems",
    "Cobalt Logistics",
    "Greenfield Energy Corp",
]
DEGREES = [
    "B.Tech in Computer Science",
    "B.E. in Electronics and Communication",
    "Bachelor of Science",
    "Master of Computer Applications",
    "MBA in Finance",
    "M.Tech in Software Engineering",
    "B.Com",
    "Bachelor of Engineering",
    "M.Sc in Statistics",
    "BCA",
    "Diploma in Mechanical Engineering",
    "Master of Science in Data Science",
]
COLLEGES = [
    "Riverside Institute of Technology",
    "Lakeview University",
    "St. Anselm College",
    "Hillcrest College of Engineering",
    "Eastbrook University",
    "National Institute of Sciences",
    "Westfield Polytechnic",
    "Greenwood School of Management",
    "Sunrise Engineering College",
    "Metro University",
]
SKILLS = [
    "Python",
    "Java",
    "SQL",
    "JavaScript",
    "React",
    "Node.js",
    "Docker",
    "Kubernetes",
    "AWS",
    "Azure",
    "Linux",
    "Git",
    "Jenkins",
    "Selenium",
    "Machine Learning",
    "Pandas",
    "Tableau",
    "Excel",
    "C++",
    "C#",
    ".NET",
    "Spring Boot",
    "REST APIs",
    "MongoDB",
    "PostgreSQL",
    "Agile",
    "Scrum",
    "JIRA",
    "HTML",
    "CSS",
    "Power BI",
    "Hadoop",
    "Spark",
    "Kafka",
    "Terraform",
    "Manual Testing",
    "Communication",
    "Leadership",
]
VERBS = [
    "Developed",
    "Designed",
    "Led",
    "Implemented",
    "Maintained",
    "Improved",
    "Automated",
    "Managed",
    "Built",
    "Delivered",
]
OBJECTS = [
    "internal reporting tools",
    "customer onboarding flows",
    "data pipelines",
    "REST services",
    "test automation suites",
    "deployment scripts",
    "dashboards for leadership",
    "a billing module",
    "the mobile backend",
    "monitoring and alerting",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
HEADERS = {
    "experience": [
        "EXPERIENCE",
        "Work Experience",
        "PROFESSIONAL EXPERIENCE",
        "Employment History",
    ],
    "education": [
        "EDUCATION",
        "Education",
        "ACADEMIC QUALIFICATIONS",
        "Educational Details",
    ],
    "skills": ["SKILLS", "Technical Skills", "KEY SKILLS", "Skill Set"],
    "summary": ["SUMMARY", "Profile", "Career Objective", "PROFESSIONAL SUMMARY"],
}


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[Span] = []

    def add(self, text: str, label: str | None = None) -> None:
        if label is not None and text:
            self.spans.append((label, self.length, self.length + len(text)))
        self.parts.append(text)
        self.length += len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"+91 {rng.randint(70000, 99999)} {rng.randint(10000, 99999)}"
    return f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"


def generate_resume(rng: random.Random, index: int) -> LabeledDoc:
    b = _Builder()
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = f"{first} {last}" if rng.random() < 0.85 else f"{first.upper()} {last.upper()}"
    title = rng.choice(TITLES)
    city = rng.choice(CITIES)
    email = f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@example.com"
    link = rng.choice(
        [
            f"linkedin.com/in/{first.lower()}-{last.lower()}-{rng.randint(100, 999)}",
            f"https://github.com/{first.lower()}{last.lower()}",
            f"https://www.linkedin.com/in/{first.lower()}{rng.randint(10, 99)}",
        ]
    )
    years = rng.randint(1, 15)

    b.add(name, "NAME")
    b.add("\n")
    if rng.random() < 0.7:
        b.add(title, "DESIGNATION")
        b.add(" - ")
        b.add(city, "LOCATION")
        b.add("\n")
    else:
        b.add(city, "LOCATION")
        b.add("\n")
    sep = rng.choice([" | ", "\n", " • "])
    b.add("Email: " if rng.random() < 0.5 else "")
    b.add(email, "EMAIL")
    b.add(sep)
    b.add("Phone: " if rng.random() < 0.5 else "")
    b.add(_phone(rng), "PHONE")
    b.add(sep)
    b.add(link, "LINK")
    b.add("\n\n")

    b.add(rng.choice(HEADERS["summary"]) + "\n")
    b.add(f"{title} with ")
    b.add(f"{years} years", "YEARS_OF_EXPERIENCE")
    b.add(f" of experience in {rng.choice(OBJECTS)} and {rng.choice(OBJECTS)}.\n\n")

    sections = ["experience", "education", "skills"]
    rng.shuffle(sections)
    for section in sections:
        b.add(rng.choice(HEADERS[section]) + "\n\n")
        if section == "experience":
            year = rng.randint(2008, 2020)
            for _ in range(rng.randint(1, 3)):
                t, c = rng.choice(TITLES), rng.choice(COMPANIES)
                if rng.random() < 0.5:
                    b.add(t, "DESIGNATION")
                    b.add("\n")
                    b.add(c, "COMPANY")
                    b.add(f" - {rng.choice(CITIES)}\n")
                else:
                    b.add(t, "DESIGNATION")
                    b.add(rng.choice([" at ", ", ", " | "]))
                    b.add(c, "COMPANY")
                    b.add("\n")
                b.add(f"{rng.choice(MONTHS)} {year} to {rng.choice(MONTHS)} {year + rng.randint(1, 3)}\n")
                for _ in range(rng.randint(1, 3)):
                    b.add(f"• {rng.choice(VERBS)} {rng.choice(OBJECTS)} using ")
                    b.add(rng.choice(SKILLS), "SKILL")
                    b.add(".\n")
                b.add("\n")
                year += rng.randint(1, 3)
        elif section == "education":
            for _ in range(rng.randint(1, 2)):
                b.add(rng.choice(DEGREES), "DEGREE")
                b.add(rng.choice(["\n", ", ", " from "]))
                b.add(rng.choice(COLLEGES), "COLLEGE")
                b.add(rng.choice([" - ", "\n", ", "]))
                b.add(str(rng.randint(2000, 2022)), "GRADUATION_YEAR")
                b.add("\n\n")
        else:
            skills = rng.sample(SKILLS, rng.randint(4, 10))
            joiner = rng.choice([", ", "\n", " | ", "\n• "])
            if joiner.startswith("\n•"):
                b.add("• ")
            for i, skill in enumerate(skills):
                if i:
                    b.add(joiner)
                b.add(skill, "SKILL")
            b.add("\n\n")
    return LabeledDoc(
        doc_id=f"generated-{index}",
        text=b.text(),
        spans=b.spans,
        annotated=frozenset(LABELS),
        source="generated",
    )


def generate_corpus(n_docs: int, seed: int = 13) -> list[LabeledDoc]:
    rng = random.Random(seed)
    return [generate_resume(rng, i) for i in range(n_docs)]
