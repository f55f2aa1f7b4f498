# Hierarchical, sequential and router coordinators: pure planning/routing logic and actor flows
# against the mock LLM.
swarm_test(planning_test planning_test.cpp hierarchical_test.cpp sequential_test.cpp
           router_test.cpp)
target_link_libraries(planning_test PRIVATE swarm_actors swarm_net swarm_mock_llm Boost::headers
                      Boost::json)
