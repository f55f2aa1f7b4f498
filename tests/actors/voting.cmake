# The collaborative and competitive coordinators and their pure decisions (actors/voting.hpp).
swarm_test(voting_test voting_test.cpp collaborative_test.cpp competitive_test.cpp)
target_link_libraries(voting_test PRIVATE swarm_actors swarm_net swarm_mock_llm Boost::headers
                      Boost::json)
